//! `card points`: the card holder's side of the card-point programme (Terms Art 22–23, 27),
//! as the phone app would do it: log in with the card, read the programme, show the three
//! matters of Art 23.1, apply through one eligible payment service with the Payment Service ID;
//! list the applications; withdraw one.

use clap::{Args, Subcommand};
use mykey_api::points::{MyPointApplication, PointApplicationRequest, PointProgramme};

use super::{Source, answer, client_error, input, operate};

#[derive(Debug, Subcommand)]
pub(crate) enum PointsCommand {
    /// Show the open rounds and the eligible payment services (no card needed).
    Programme {
        /// The platform's URL.
        #[arg(
            long,
            env = "MYKEY_PLATFORM_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        platform: String,
    },
    /// Apply in a round through one eligible service, accepting the matters of Art 23.1.
    Apply {
        #[command(flatten)]
        holder: Holder,
        /// The round's ID.
        #[arg(long)]
        round: i64,
        /// The payment service's ID.
        #[arg(long)]
        service: i64,
        /// The Payment Service ID you know the service by.
        #[arg(long, value_name = "ID")]
        payment_service_id: String,
        /// The security code that came with it, when the service issues one.
        #[arg(long, value_name = "DIGITS")]
        payment_service_code: Option<String>,
    },
    /// Claim the round's points for the card registered as a health-insurance card at
    /// Mynaportal (Art 24) or for a public-fund receiving account (Art 25) on an application;
    /// with --bank … the account is registered with the registry first.
    Claim {
        #[command(flatten)]
        holder: Holder,
        /// The application's ID.
        id: String,
        /// health-insurance or public-fund-account.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Your applications, newest first.
    List {
        #[command(flatten)]
        holder: Holder,
    },
    /// Withdraw an application: final for its round.
    Withdraw {
        #[command(flatten)]
        holder: Holder,
        /// The application's ID.
        id: String,
    },
}

/// A public-fund receiving account to register (all of it, or none).
#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    /// Bank code, 4 digits.
    #[arg(long, requires_all = ["branch", "number", "holder_name"])]
    bank: Option<String>,
    /// Branch code, 3 digits.
    #[arg(long, requires = "bank")]
    branch: Option<String>,
    /// ordinary, current or savings.
    #[arg(long = "account-type", default_value = "ordinary")]
    account_type: String,
    /// Account number, 7 digits.
    #[arg(long, requires = "bank")]
    number: Option<String>,
    /// The account holder's name in full-width katakana.
    #[arg(long, requires = "bank")]
    holder_name: Option<String>,
}

/// The card holder, logged in with the card.
#[derive(Debug, Args)]
pub(crate) struct Holder {
    #[command(flatten)]
    source: Source,
    /// The user-identification PIN.
    #[arg(long)]
    pin: String,
    /// The platform's URL.
    #[arg(
        long,
        env = "MYKEY_PLATFORM_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    platform: String,
}

/// A session for the card holder: the card's login.
async fn session(http: &reqwest::Client, h: &Holder) -> Result<String, String> {
    let pin = input::pin("--pin", &h.pin)?;
    let mut opened = operate::open(&h.source)?;
    let certificate = opened
        .card
        .read_certificate(mykey_card::CertificateFile::UserIdentification)
        .map_err(client_error)?;
    let session = crate::login::login(http, &h.platform, |nonce| {
        let signature = opened
            .card
            .sign_challenge(&pin, nonce)
            .map_err(client_error)?;
        Ok((signature, certificate))
    })
    .await?;
    Ok(session.token)
}

/// A call with the session; the answer as JSON, a refusal in words.
async fn with_session(
    http: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    crate::login::send(req, url).await
}

pub(crate) async fn run(cmd: PointsCommand) -> Result<(), String> {
    let http = answer::http()?;
    let base = |p: &str| p.trim_end_matches('/').to_owned();
    match cmd {
        PointsCommand::Programme { platform } => {
            let url = format!("{}/v1/point-programme", base(&platform));
            let programme: PointProgramme = answer::fetch(&http, &url).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&programme).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        PointsCommand::Apply {
            holder,
            round,
            service,
            payment_service_id,
            payment_service_code,
        } => {
            let platform = base(&holder.platform);
            let programme: PointProgramme =
                answer::fetch(&http, &format!("{platform}/v1/point-programme")).await?;
            let chosen = programme.services.iter().find(|s| s.id == service);
            if let Some(s) = chosen {
                eprintln!(
                    "You apply for card points through {} ({}, {}). You agree that:",
                    s.name, s.kind, s.provider
                );
            }
            let consent = answer::consent(&programme.consent, "");
            let token = session(&http, &holder).await?;
            let body = serde_json::to_value(PointApplicationRequest {
                round,
                payment_service: service,
                payment_service_user_id: payment_service_id,
                payment_service_code,
                consent,
            })
            .map_err(|e| e.to_string())?;
            let url = format!("{platform}/v1/me/point-applications");
            let a = with_session(&http, &token, reqwest::Method::POST, &url, Some(body)).await?;
            let a: MyPointApplication = serde_json::from_value(a).map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_value(&a).map_err(|e| e.to_string())?);
            Ok(())
        }
        PointsCommand::Claim {
            holder,
            id,
            kind,
            account,
        } => {
            if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("an application's ID is 16 hexadecimal characters".into());
            }
            let platform = base(&holder.platform);
            let programme: PointProgramme =
                answer::fetch(&http, &format!("{platform}/v1/point-programme")).await?;
            let asked = match kind.as_str() {
                "health-insurance" => &programme.health_insurance_consent,
                "public-fund-account" => &programme.public_fund_account_consent,
                _ => return Err("--kind is health-insurance or public-fund-account".into()),
            };
            eprintln!("You claim the points for a registration. You agree to:");
            let consent = answer::consent(asked, "");
            let account = account
                .bank
                .map(|bank| mykey_api::points::PublicFundAccount {
                    bank_code: bank,
                    branch_code: account.branch.unwrap_or_default(),
                    account_type: account.account_type,
                    number: account.number.unwrap_or_default(),
                    holder: account.holder_name.unwrap_or_default(),
                });
            let body = serde_json::to_value(mykey_api::points::PointTriggerClaim {
                kind,
                consent,
                account,
            })
            .map_err(|e| e.to_string())?;
            let token = session(&http, &holder).await?;
            let url = format!("{platform}/v1/me/point-applications/{id}/triggers");
            let t = with_session(&http, &token, reqwest::Method::POST, &url, Some(body)).await?;
            println!("{t}");
            Ok(())
        }
        PointsCommand::List { holder } => {
            let token = session(&http, &holder).await?;
            let url = format!("{}/v1/me/point-applications", base(&holder.platform));
            let list = with_session(&http, &token, reqwest::Method::GET, &url, None).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        PointsCommand::Withdraw { holder, id } => {
            if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("an application's ID is 16 hexadecimal characters".into());
            }
            let token = session(&http, &holder).await?;
            let url = format!(
                "{}/v1/me/point-applications/{id}/withdrawal",
                base(&holder.platform)
            );
            let a = with_session(
                &http,
                &token,
                reqwest::Method::POST,
                &url,
                Some(serde_json::json!({})),
            )
            .await?;
            println!("{a}");
            Ok(())
        }
    }
}
