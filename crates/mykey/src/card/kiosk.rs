//! `mykey kiosk apply`: an application-support business's terminal (an ATM, a multi-function
//! copier; Terms Art 22.1.10, 26.1.2) applying for card points for the holder in front of it —
//! the card in its reader (or a card file), the PIN typed at the kiosk, the three matters of
//! Art 23.1 shown on its screen. The kiosk authenticates as its relying party: its client ID,
//! and its secret from `MYKEY_CLIENT_SECRET` (never on the command line, which `ps` shows).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use clap::{Args, Subcommand};
use mykey_api::auth::Challenge;
use mykey_api::points::{KioskPointApplication, PointProgramme};
use serde_json::Value;

use super::{Source, answer, client_error, input, operate};

#[derive(Debug, Subcommand)]
pub(crate) enum KioskCommand {
    /// Apply for card points for the holder of the card in front of the kiosk.
    Apply(KioskApplyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KioskApplyArgs {
    #[command(flatten)]
    source: Source,
    /// The holder's user-identification PIN, typed at the kiosk.
    #[arg(long)]
    pin: String,
    /// The kiosk's client ID (its secret in MYKEY_CLIENT_SECRET).
    #[arg(long)]
    client_id: String,
    /// The round's ID.
    #[arg(long)]
    round: i64,
    /// The payment service's ID.
    #[arg(long)]
    service: i64,
    /// The holder's Payment Service ID.
    #[arg(long, value_name = "ID")]
    payment_service_id: String,
    /// Its security code, when the service issues one.
    #[arg(long, value_name = "DIGITS")]
    payment_service_code: Option<String>,
    /// The platform's URL.
    #[arg(
        long,
        env = "MYKEY_PLATFORM_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    platform: String,
}

/// A call as the kiosk's relying party; the answer as JSON, a refusal in words.
async fn as_kiosk(
    http: &reqwest::Client,
    a: &KioskApplyArgs,
    secret: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let url = format!("{}{path}", a.platform.trim_end_matches('/'));
    let mut req = http.post(&url).basic_auth(&a.client_id, Some(secret));
    if let Some(b) = body {
        req = req.json(&b);
    }
    crate::login::send(req, &url).await
}

pub(crate) async fn run(cmd: KioskCommand) -> Result<(), String> {
    let KioskCommand::Apply(a) = cmd;
    let secret = std::env::var("MYKEY_CLIENT_SECRET")
        .map_err(|_| "set MYKEY_CLIENT_SECRET to the kiosk's client secret")?;
    let pin = input::pin("--pin", &a.pin)?;
    let http = answer::http()?;
    let platform = a.platform.trim_end_matches('/').to_owned();
    let programme: PointProgramme =
        answer::fetch(&http, &format!("{platform}/v1/point-programme")).await?;
    if let Some(s) = programme.services.iter().find(|s| s.id == a.service) {
        eprintln!(
            "Applying for card points through {} ({}, {}). The holder agrees that:",
            s.name, s.kind, s.provider
        );
    }
    let consent = answer::consent(&programme.consent, "");
    let challenge: Challenge = serde_json::from_value(
        as_kiosk(
            &http,
            &a,
            &secret,
            "/v1/rp/point-applications/challenges",
            None,
        )
        .await?,
    )
    .map_err(|e| e.to_string())?;
    let nonce = B64URL
        .decode(&challenge.nonce)
        .map_err(|_| "the platform sent a malformed nonce")?;
    let mut opened = operate::open(&a.source)?;
    let certificate = opened
        .card
        .read_certificate(mykey_card::CertificateFile::UserIdentification)
        .map_err(client_error)?;
    let signature = opened
        .card
        .sign_challenge(&pin, &nonce)
        .map_err(client_error)?;
    let body = serde_json::to_value(KioskPointApplication {
        nonce: challenge.nonce,
        certificate: B64.encode(certificate),
        signature: B64.encode(signature),
        round: a.round,
        payment_service: a.service,
        payment_service_user_id: a.payment_service_id.clone(),
        payment_service_code: a.payment_service_code.clone(),
        consent,
    })
    .map_err(|e| e.to_string())?;
    let applied = as_kiosk(&http, &a, &secret, "/v1/rp/point-applications", Some(body)).await?;
    println!("{applied}");
    Ok(())
}
