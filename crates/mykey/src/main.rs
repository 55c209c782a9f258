//! `mykey`: the one binary. Subcommands stay thin; the work is in the crates.

mod admin;
mod admin_operators;
mod admin_points;
mod backup;
mod bench;
mod bench_cross_device;
mod bench_facts;
mod bench_oidc_compare;
mod bench_overload;
mod bench_points;
mod bench_scale;
mod card;
mod client;
mod client_login;
mod files;
mod jlis;
mod logging;
mod login;
mod placement;
mod registries;
mod secrets;
mod serve;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: see the workspace manifest.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// MyKey Platform: identity on top of the My Number Card's JPKI certificates.
#[derive(Debug, Parser)]
#[command(name = "mykey", version, about)]
struct Cli {
    /// How log lines are written on stderr: text for a person, or JSON lines (one object an
    /// event, with the request's ID) for a log collector.
    #[arg(long, global = true, env = "MYKEY_LOG_FORMAT", value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the platform (SQLite under ./mykey-data and the J-LIS simulator in-process by default).
    Serve(serve::ServeArgs),
    /// The J-LIS simulator: run it, and issue, renew and revoke certificates with it.
    #[command(subcommand)]
    Jlis(jlis::JlisCommand),
    /// Simulated Mynaportal and public-fund account registry (Terms Art 24, 25): run them, and
    /// register a card as a health-insurance card or a public-fund receiving account.
    #[command(subcommand)]
    Registries(registries::RegistriesCommand),
    /// Virtual My Number Cards: issue, renew, show, sign, read the facts, insert into pcscd.
    #[command(subcommand)]
    Card(card::CardCommand),
    /// An application-support kiosk (an ATM, a multi-function copier): apply for card points
    /// for the holder of the card in front of it (Terms Art 22.1.10, 26.1.2).
    #[command(subcommand)]
    Kiosk(card::kiosk::KioskCommand),
    /// The operator's commands (relying parties).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// A relying party's tooling: a key pair for private_key_jwt, client assertions.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Benchmarks that print one JSON line of figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Prints a line to stdout, ignoring a closed pipe: a server must not stop because nobody reads.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() -> std::process::ExitCode {
    // Everything this process creates — databases and their journals, keys, card files — is
    // its user's alone (see `files::private_folder`).
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(a) => serve::run(a).await,
            Command::Jlis(c) => jlis::run(c).await,
            Command::Registries(c) => registries::run(c).await,
            Command::Card(c) => card::run(c).await,
            Command::Kiosk(c) => card::kiosk::run(c).await,
            Command::Admin(c) => admin::run(c).await,
            Command::Client(c) => client::run(c).await,
            Command::Bench(c) => bench::run(c).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
