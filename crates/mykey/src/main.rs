//! `mykey`: the one binary. Subcommands stay thin; the work is in the crates.

mod bench;
mod files;
mod jlis;

use clap::{Parser, Subcommand};

/// MyKey Platform: identity on top of the My Number Card's JPKI certificates.
#[derive(Debug, Parser)]
#[command(name = "mykey", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The J-LIS simulator: run it, and issue, renew and revoke certificates with it.
    #[command(subcommand)]
    Jlis(jlis::JlisCommand),
    /// Benchmarks that print one JSON line of figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MYKEY_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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
            Command::Jlis(c) => jlis::run(c).await,
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
