//! `mykey admin …`: the operator's commands, over the platform's operator API.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use mykey_api::maintenance::{MaintenanceAnnouncement, Notice, TerminationAnnouncement};
use mykey_api::ops::{OidcClientRegistration, RelyingPartyRegistration};
use mykey_api::terms::TermsPublication;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Relying parties: register, list, approve, suspend, rotate a client secret or keys, OpenID Connect.
    #[command(subcommand)]
    Rp(RpCommand),
    /// The platform's own signing keys (what its SETs and ID tokens are signed with).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// A backup of the embedded database and the data folder's secrets, taken while the
    /// platform serves (SQLite's VACUUM INTO: a snapshot as of one moment).
    Backup {
        /// The data folder of `mykey serve`.
        #[arg(long, default_value = "./mykey-data")]
        data: PathBuf,
        /// The backup file to make (never replaced).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restores a backup into a data folder that holds no database yet; then `mykey serve
    /// --data` it.
    Restore {
        /// The backup file (`mykey admin backup`).
        #[arg(long)]
        from: PathBuf,
        /// The data folder to restore into.
        #[arg(long, default_value = "./mykey-data")]
        data: PathBuf,
    },
    /// Terms of Use versions (Art 3, 12): publish one, list them.
    #[command(subcommand)]
    Terms(TermsCommand),
    /// Maintenance windows (Art 9.3): announce one, list those in effect or coming, end one.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// The end of the system (Art 10): announce it (three months ahead), show it, withdraw it.
    #[command(subcommand)]
    Termination(TerminationCommand),
    /// The card-point programme, as the point secretariat (Art 22.1.3): rounds, payment
    /// services, statements.
    #[command(subcommand)]
    Points(crate::admin_points::PointsCommand),
    /// Operator accounts (administrator): add one for a person by My Key ID, list, end.
    #[command(subcommand)]
    Operators(crate::admin_operators::OperatorsCommand),
    /// The operator log (auditor): every operator request and its answer; verify the chain.
    #[command(subcommand)]
    Log(crate::admin_operators::LogCommand),
    /// The help desk (Art 18): a person by My Key ID, their log; suspend or resume (Art 8.2).
    #[command(subcommand)]
    People(crate::admin_operators::PeopleCommand),
    /// Cross-device logins people refused on the phone and reported as not theirs (where and
    /// when the browser began each), oldest first.
    Reports {
        #[command(flatten)]
        target: Target,
        /// Only reports after this one (the last listing's `next`).
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many (1–500).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TermsCommand {
    /// Publish a terms version, announced now and in force from `--effective-at`: at least
    /// seven days ahead (Art 12.2), unless `--urgent` gives the reason for less notice. People
    /// see it on the portal until it takes effect; consents then name it.
    Publish {
        #[command(flatten)]
        target: Target,
        /// Its name (1–64 of A–Z, a–z, 0–9, `.`, `_`, `-`), new.
        #[arg(long = "version")]
        name: String,
        /// When it takes effect (RFC 3339, e.g. 2027-01-01T00:00:00+09:00).
        #[arg(long)]
        effective_at: String,
        /// The http(s) URL of its full text.
        #[arg(long)]
        text_url: Option<String>,
        /// The change in a few words (up to 4,000 characters).
        #[arg(long, conflicts_with = "summary_file")]
        summary: Option<String>,
        /// A file holding the summary.
        #[arg(long)]
        summary_file: Option<PathBuf>,
        /// Art 12.2's urgent case: why the change cannot wait seven days (recorded).
        #[arg(long, value_name = "REASON")]
        urgent: Option<String>,
    },
    /// List every published version and the one in force (no operator token needed).
    List {
        /// The platform's URL.
        #[arg(
            long,
            env = "MYKEY_PLATFORM_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        platform: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MaintenanceCommand {
    /// Announce a window: from `--starts-at` (at least 24 hours ahead, Art 9.3) to `--ends-at`
    /// (at most 7 days later), taking down each `--function`; or, with `--urgent REASON`, at
    /// once. Relying parties get an event; the portal and the authorize page show the notice.
    Announce {
        #[command(flatten)]
        target: Target,
        /// When it starts (RFC 3339); not with `--urgent`.
        #[arg(long, required_unless_present = "urgent", conflicts_with = "urgent")]
        starts_at: Option<String>,
        /// When it ends (RFC 3339).
        #[arg(long)]
        ends_at: String,
        /// A function it takes down (repeat for more): card-login, oidc, service-ids, ppids,
        /// points, events, portal, relying-parties.
        #[arg(long = "function", required = true)]
        functions: Vec<String>,
        /// The notice in English.
        #[arg(long)]
        notice_en: String,
        /// The notice in Japanese.
        #[arg(long)]
        notice_ja: String,
        /// Art 9.3's urgent case: the window starts now; why (recorded).
        #[arg(long, value_name = "REASON")]
        urgent: Option<String>,
    },
    /// The windows in effect or coming (no operator token needed).
    List {
        /// The platform's URL.
        #[arg(
            long,
            env = "MYKEY_PLATFORM_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        platform: String,
    },
    /// End a window now, or call off one not yet begun.
    End {
        #[command(flatten)]
        target: Target,
        /// The window's ID.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TerminationCommand {
    /// Announce the end of the system on `--terminates-at`: at least three months (92 days)
    /// ahead, unless `--urgent` gives the reason for less notice. From then on the portal and
    /// the authorize page say so; on the date new applications stop and the card-point rights
    /// are forfeited (Art 27.1.3). Relying parties get an event.
    Announce {
        #[command(flatten)]
        target: Target,
        /// When the system ends (RFC 3339).
        #[arg(long)]
        terminates_at: String,
        /// The notice in English.
        #[arg(long)]
        notice_en: String,
        /// The notice in Japanese.
        #[arg(long)]
        notice_ja: String,
        /// Art 10's urgent case: why the end cannot wait three months (recorded).
        #[arg(long, value_name = "REASON")]
        urgent: Option<String>,
    },
    /// The announced end, if there is one (no operator token needed).
    Show {
        /// The platform's URL.
        #[arg(
            long,
            env = "MYKEY_PLATFORM_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        platform: String,
    },
    /// Withdraw the announced end, before its date.
    Withdraw {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a new signing key; the current one stays published (JWK Set) for what it signed.
    /// Kept in the platform's database (and in the data folder where it keeps the key files):
    /// published by every running node first, then signed with.
    Rotate {
        /// The data folder of `mykey serve` (its secrets.key opens the database's keys).
        #[arg(long, default_value = "./mykey-data")]
        data: PathBuf,
        /// The platform's database: sqlite://PATH or postgres://… (default: SQLite under
        /// --data).
        #[arg(long, env = "MYKEY_DATABASE_URL")]
        database: Option<String>,
        /// Which key: the ES256 one (SETs and ID tokens by default) or the RS256 one (ID tokens
        /// of clients that chose RS256).
        #[arg(long, default_value = "ES256", value_parser = ["ES256", "RS256"])]
        alg: String,
        /// Seconds the new key is published by every node before any signs with it (at least
        /// three of the nodes' 5 s reloads; 0 only where no node is running).
        #[arg(long, default_value_t = 15)]
        publish_secs: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RpCommand {
    /// Register a relying party (pending until approved); prints its client ID and secret once.
    Register {
        #[command(flatten)]
        target: Target,
        /// Its name, as people will see it.
        #[arg(long)]
        name: String,
        /// What it is.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Where people turn to it with inquiries (a desk, a telephone number), shown wherever
        /// they consent (Terms Art 17.2.3, 18, 21).
        #[arg(long)]
        contact: String,
        /// Its privacy policy (an https URL).
        #[arg(long)]
        privacy_policy_url: String,
        /// Its own terms of use (an https URL).
        #[arg(long)]
        terms_url: String,
        /// A JSON file with its JWK Set (public keys), for `private_key_jwt`.
        #[arg(long)]
        jwks: Option<PathBuf>,
    },
    /// List relying parties.
    List(Target),
    /// Approve a relying party.
    Approve {
        #[command(flatten)]
        target: Target,
        /// Its ID.
        id: String,
    },
    /// Suspend a relying party (Art 8).
    Suspend {
        #[command(flatten)]
        target: Target,
        /// Its ID.
        id: String,
    },
    /// Replace the JWK Set it signs client assertions with (`private_key_jwt`). To rotate a key
    /// without a gap, register the old and the new key together, then the new one alone.
    SetJwks {
        #[command(flatten)]
        target: Target,
        /// Its ID.
        id: String,
        /// A JSON file with the JWK Set (public keys).
        file: PathBuf,
    },
    /// Register (replace) its OpenID Connect client: whose identifiers the subs are (the PPIDs of
    /// one of its PPID services, or its own customer IDs for logging in by Service ID), redirect
    /// URIs, the fact scopes it may ask for, the ID token algorithm.
    Oidc {
        #[command(flatten)]
        target: Target,
        /// Its ID.
        id: String,
        /// Its PPID service (registered by the relying party) whose PPIDs are the subs.
        #[arg(
            long,
            required_unless_present = "service_id",
            conflicts_with = "service_id"
        )]
        ppid_service: Option<i64>,
        /// The subs are its customer IDs that people's Service IDs link: logging in by Service ID.
        #[arg(long)]
        service_id: bool,
        /// A redirect URI (repeat for more), compared exactly.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may return (repeat for more).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A fact scope it may ask for: name, address, birthdate, gender (repeat, or comma-separated).
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        /// How its ID tokens are signed.
        #[arg(long, default_value = "ES256", value_parser = ["ES256", "RS256"])]
        alg: String,
    },
    /// Issue a new client secret; the old one stops working.
    RotateSecret {
        #[command(flatten)]
        target: Target,
        /// Its ID.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Kind {
    PublicAuthority,
    Business,
    /// A registered payment provider of the card-point programme (Art 26.1.1).
    PaymentProvider,
    /// An application-support business's kiosk (Art 26.1.2).
    Kiosk,
}

#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The platform's URL.
    #[arg(
        long,
        env = "MYKEY_PLATFORM_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    platform: String,
    /// The data folder of `mykey serve`, whose bootstrap `operator-token` is used unless
    /// MYKEY_OPERATOR_TOKEN is set — to an operator's session (`mykey card login --token-only`)
    /// once the first administrator account exists.
    #[arg(long, default_value = "./mykey-data")]
    data: PathBuf,
}

pub(crate) async fn run(cmd: AdminCommand) -> Result<(), String> {
    let cmd = match cmd {
        AdminCommand::Rp(cmd) => cmd,
        AdminCommand::Points(cmd) => return crate::admin_points::run(cmd).await,
        AdminCommand::Operators(cmd) => return crate::admin_operators::operators(cmd).await,
        AdminCommand::Log(cmd) => return crate::admin_operators::log(cmd).await,
        AdminCommand::People(cmd) => return crate::admin_operators::people(cmd).await,
        AdminCommand::Backup { data, out } => return crate::backup::backup(&data, &out).await,
        AdminCommand::Restore { from, data } => {
            return crate::backup::restore(&from, &data).await;
        }
        AdminCommand::Keys(KeysCommand::Rotate {
            data,
            database,
            alg,
            publish_secs,
        }) => {
            // The folder's keys go into the database: it must be a node's own, as `serve`
            // demands (its owner's alone, nothing of another user's in it), and hold the
            // platform's secrets.key.
            if !data.join("secrets.key").is_file() {
                return Err(format!(
                    "{} holds no secrets.key: give the data folder of a node of the platform",
                    data.display()
                ));
            }
            crate::files::private_folder(&data)?;
            let database = match database {
                Some(d) => d,
                None => {
                    let path = data.join("platform.sqlite3");
                    if !path.exists() {
                        return Err(format!(
                            "no database at {}: give the platform's with --database",
                            path.display()
                        ));
                    }
                    format!("sqlite://{}", path.display())
                }
            };
            let store = mykey_store::open(&database)
                .await
                .map_err(|e| e.to_string())?;
            let sealing = crate::secrets::sealing_key(&data)?;
            let kid = crate::secrets::rotate(
                &data,
                &*store,
                &sealing,
                alg == "RS256",
                std::time::Duration::from_secs(publish_secs),
            )
            .await?;
            crate::say(&format!(
                "new signing key {kid}, signed with by every node within {} s; the old one stays published",
                crate::secrets::RELOAD_EVERY.as_secs()
            ));
            return Ok(());
        }
        AdminCommand::Terms(TermsCommand::List { platform }) => {
            return request(&platform, None, "GET", "/v1/terms", None).await;
        }
        AdminCommand::Terms(TermsCommand::Publish {
            target,
            name,
            effective_at,
            text_url,
            summary,
            summary_file,
            urgent,
        }) => {
            let summary = match summary_file {
                Some(f) => Some(
                    std::fs::read_to_string(&f)
                        .map_err(|e| format!("cannot read {}: {e}", f.display()))?,
                ),
                None => summary,
            };
            let body = TermsPublication {
                version: name,
                effective_at,
                text_url,
                summary,
                urgent: urgent.is_some(),
                reason: urgent,
            };
            return call(&target, "POST", "/v1/ops/terms", Some(to_json(&body)?)).await;
        }
        AdminCommand::Termination(TerminationCommand::Show { platform }) => {
            return request(&platform, None, "GET", "/v1/termination", None).await;
        }
        AdminCommand::Termination(TerminationCommand::Announce {
            target,
            terminates_at,
            notice_en,
            notice_ja,
            urgent,
        }) => {
            let body = TerminationAnnouncement {
                terminates_at,
                notice: Notice {
                    en: notice_en,
                    ja: notice_ja,
                },
                urgent: urgent.is_some(),
                reason: urgent,
            };
            let body = to_json(&body)?;
            return call(&target, "POST", "/v1/ops/termination", Some(body)).await;
        }
        AdminCommand::Termination(TerminationCommand::Withdraw { target }) => {
            return call(&target, "POST", "/v1/ops/termination/withdrawal", None).await;
        }
        AdminCommand::Maintenance(MaintenanceCommand::List { platform }) => {
            return request(&platform, None, "GET", "/v1/maintenance-windows", None).await;
        }
        AdminCommand::Maintenance(MaintenanceCommand::Announce {
            target,
            starts_at,
            ends_at,
            functions,
            notice_en,
            notice_ja,
            urgent,
        }) => {
            let body = MaintenanceAnnouncement {
                starts_at,
                ends_at,
                functions,
                notice: Notice {
                    en: notice_en,
                    ja: notice_ja,
                },
                urgent: urgent.is_some(),
                reason: urgent,
            };
            let body = to_json(&body)?;
            return call(&target, "POST", "/v1/ops/maintenance-windows", Some(body)).await;
        }
        AdminCommand::Maintenance(MaintenanceCommand::End { target, id }) => {
            let path = format!("/v1/ops/maintenance-windows/{id}/ending");
            return call(&target, "POST", &path, None).await;
        }
        AdminCommand::Reports {
            target,
            after,
            limit,
        } => {
            let path = format!("/v1/ops/authorization-reports?after={after}&limit={limit}");
            return call(&target, "GET", &path, None).await;
        }
    };
    let (target, method, path, body) = match &cmd {
        RpCommand::Register {
            target,
            name,
            kind,
            contact,
            privacy_policy_url,
            terms_url,
            jwks,
        } => {
            let kind = match kind {
                Kind::PublicAuthority => "public-authority",
                Kind::Business => "business",
                Kind::PaymentProvider => "payment-provider",
                Kind::Kiosk => "kiosk",
            };
            let body = RelyingPartyRegistration {
                name: name.clone(),
                kind: kind.to_owned(),
                contact: contact.clone(),
                privacy_policy_url: privacy_policy_url.clone(),
                terms_url: terms_url.clone(),
                jwks: jwks.as_deref().map(read_json).transpose()?,
            };
            (
                target,
                "POST",
                "/v1/ops/relying-parties".to_owned(),
                Some(to_json(&body)?),
            )
        }
        RpCommand::SetJwks { target, id, file } => (
            target,
            "PUT",
            format!("/v1/ops/relying-parties/{id}/jwks"),
            Some(read_json(file)?),
        ),
        RpCommand::Oidc {
            target,
            id,
            ppid_service,
            service_id,
            redirect_uris,
            post_logout_redirect_uris,
            scopes,
            alg,
        } => (
            target,
            "PUT",
            format!("/v1/ops/relying-parties/{id}/oidc-client"),
            Some(to_json(&OidcClientRegistration {
                subject: service_id.then(|| "service-id".to_owned()),
                ppid_service_id: *ppid_service,
                redirect_uris: redirect_uris.clone(),
                post_logout_redirect_uris: post_logout_redirect_uris.clone(),
                scopes: scopes.clone(),
                id_token_signed_response_alg: Some(alg.clone()),
            })?),
        ),
        RpCommand::List(target) => (target, "GET", "/v1/ops/relying-parties".to_owned(), None),
        RpCommand::Approve { target, id } => (
            target,
            "POST",
            format!("/v1/ops/relying-parties/{id}/approval"),
            None,
        ),
        RpCommand::Suspend { target, id } => (
            target,
            "POST",
            format!("/v1/ops/relying-parties/{id}/suspension"),
            None,
        ),
        RpCommand::RotateSecret { target, id } => (
            target,
            "POST",
            format!("/v1/ops/relying-parties/{id}/secret"),
            None,
        ),
    };
    call(target, method, &path, body).await
}

/// Calls the operator API and prints the answer.
pub(crate) async fn call(
    target: &Target,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(), String> {
    let token = match std::env::var("MYKEY_OPERATOR_TOKEN") {
        Ok(t) => t,
        Err(_) => std::fs::read_to_string(target.data.join("operator-token"))
            .map(|t| t.trim().to_owned())
            .map_err(|e| format!("no operator token: set MYKEY_OPERATOR_TOKEN or give --data (cannot read {}: {e})", target.data.join("operator-token").display()))?,
    };
    request(&target.platform, Some(&token), method, path, body).await
}

/// Calls the platform (with the operator's token, if given) and prints the answer.
async fn request(
    platform: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(), String> {
    let url = format!("{}{path}", platform.trim_end_matches('/'));
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = match method {
        "GET" => http.get(&url),
        "PUT" => http.put(&url),
        "DELETE" => http.delete(&url),
        _ => http.post(&url),
    };
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(crate::login::refusal(status, &text));
    }
    // Printed as the endpoint answered it, whichever it was: JSON pretty, anything else
    // (a CSV statement) as it came.
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
        Err(_) => print!("{text}"),
    }
    Ok(())
}

/// A request body as JSON.
pub(crate) fn to_json(body: &impl serde::Serialize) -> Result<Value, String> {
    serde_json::to_value(body).map_err(|e| e.to_string())
}

fn read_json(file: &std::path::Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))
}
