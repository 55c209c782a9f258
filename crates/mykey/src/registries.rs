//! `mykey registries …`: run simulated Mynaportal and the public-fund account registry
//! (`mykey-registries`) on their own, and play the card holder registering at them. `mykey
//! serve` starts both in its own process unless given their URLs.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub(crate) enum RegistriesCommand {
    /// Run both simulators, each with its own store under --data and its own address.
    Serve(ServeArgs),
    /// The card holder registers the card as a health-insurance card at Mynaportal.
    HealthInsurance(HealthInsuranceArgs),
    /// The card holder registers a public-fund receiving account with the registry.
    Account(AccountArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Folder for the two stores.
    #[arg(long, default_value = "./mykey-data")]
    data: PathBuf,
    /// Where Mynaportal listens.
    #[arg(long, default_value = "127.0.0.1:8082")]
    mynaportal_listen: String,
    /// Where the account registry listens.
    #[arg(long, default_value = "127.0.0.1:8083")]
    account_registry_listen: String,
}

#[derive(Debug, Args)]
pub(crate) struct HealthInsuranceArgs {
    /// The card file.
    #[arg(long)]
    card: PathBuf,
    /// The health insurer's number (6 or 8 digits).
    #[arg(long)]
    insurer: String,
    /// Mynaportal's URL.
    #[arg(long, default_value = "http://127.0.0.1:8082")]
    mynaportal_url: String,
}

#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    /// The card file.
    #[arg(long)]
    card: PathBuf,
    /// Bank code, 4 digits.
    #[arg(long)]
    bank: String,
    /// Branch code, 3 digits.
    #[arg(long)]
    branch: String,
    /// ordinary, current or savings.
    #[arg(long = "type", default_value = "ordinary")]
    account_type: String,
    /// Account number, 7 digits.
    #[arg(long)]
    number: String,
    /// The holder's name in full-width katakana.
    #[arg(long)]
    holder: String,
    /// The account registry's URL.
    #[arg(long, default_value = "http://127.0.0.1:8083")]
    account_registry_url: String,
}

/// A simulator started in this process: its URL, its task and the lock on its folder.
pub(crate) struct Started {
    pub(crate) url: String,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _held: std::fs::File,
}

impl Drop for Started {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which simulator.
#[derive(Clone, Copy)]
pub(crate) enum Which {
    Mynaportal,
    AccountRegistry,
}

impl Which {
    fn folder(self) -> &'static str {
        match self {
            Self::Mynaportal => "mynaportal",
            Self::AccountRegistry => "account-registry",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Self::Mynaportal => "--mynaportal-listen",
            Self::AccountRegistry => "--account-registry-listen",
        }
    }
}

/// Starts `which` on `listen` with its store in `data/<its folder>`.
pub(crate) async fn start(data: &Path, listen: &str, which: Which) -> Result<Started, String> {
    let dir = data.join(which.folder());
    crate::files::private_folder(&dir)?;
    let held = crate::files::lock_folder(&dir, which.folder())?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        format!(
            "cannot listen on {listen} for {}: {e} ({} picks another address)",
            which.folder(),
            which.flag()
        )
    })?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let router = match which {
        Which::Mynaportal => mykey_registries::Mynaportal::open(&dir)
            .await
            .map_err(|e| e.to_string())?
            .router(),
        Which::AccountRegistry => mykey_registries::AccountRegistry::open(&dir)
            .await
            .map_err(|e| e.to_string())?
            .router(),
    };
    let task = tokio::spawn(mykey_registries::serve(
        router,
        listener,
        std::future::pending(),
    ));
    Ok(Started {
        url,
        task,
        _held: held,
    })
}

pub(crate) async fn run(cmd: RegistriesCommand) -> Result<(), String> {
    match cmd {
        RegistriesCommand::Serve(a) => {
            crate::files::private_folder(&a.data)?;
            let myna = start(&a.data, &a.mynaportal_listen, Which::Mynaportal).await?;
            let accounts =
                start(&a.data, &a.account_registry_listen, Which::AccountRegistry).await?;
            crate::say(&format!(
                "Mynaportal (simulated) on {}\npublic-fund account registry (simulated) on {}",
                myna.url, accounts.url
            ));
            crate::jlis::shutdown_signal().await;
            Ok(())
        }
        RegistriesCommand::HealthInsurance(a) => {
            let n = crate::card::issuance_number_of(&a.card)?;
            let url = format!(
                "{}/v1/health-insurance-registrations",
                a.mynaportal_url.trim_end_matches('/')
            );
            send(reqwest::Client::new().post(url).json(&json!({
                "issuance_number": n.to_string(),
                "insurer_number": a.insurer,
            })))
            .await
        }
        RegistriesCommand::Account(a) => {
            let n = crate::card::issuance_number_of(&a.card)?;
            let url = format!(
                "{}/v1/accounts/{n}",
                a.account_registry_url.trim_end_matches('/')
            );
            send(reqwest::Client::new().put(url).json(&json!({
                "bank_code": a.bank,
                "branch_code": a.branch,
                "account_type": a.account_type,
                "number": a.number,
                "holder": a.holder,
            })))
            .await
        }
    }
}

/// Sends, prints the JSON answer; a refusal is the error, with the registry's detail.
async fn send(request: reqwest::RequestBuilder) -> Result<(), String> {
    let r = request
        .send()
        .await
        .map_err(|e| format!("cannot reach the registry: {e}"))?;
    let status = r.status();
    let body: Value = r
        .json()
        .await
        .map_err(|e| format!("unreadable answer ({status}): {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "refused ({status}): {}",
            body["detail"].as_str().unwrap_or("no detail")
        ));
    }
    crate::say(&body.to_string());
    Ok(())
}
