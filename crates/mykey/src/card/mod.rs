//! `mykey card …`: make a virtual My Number Card with the J-LIS simulator, keep it in a card file,
//! and use it — or a real card in a PC/SC reader — the way the platform will.
//!
//! ```text
//! lifecycle.rs  issue, renew       keys born in the card, certified by J-LIS, saved (0600)
//! show.rs       show               certificates, retry counters, facts; never a secret
//! operate.rs    sign, facts        JpkiCard over the card file or a PC/SC reader
//! insert.rs     insert             the card in pcscd's virtual reader (vpcd) until interrupted
//! link.rs       link             answer a Service ID link request
//! approve.rs    approve          answer a cross-device login (the phone app)
//! pinless.rs    pinless          answer a PIN-less request (Art 20.2) with access key B
//! input.rs      command-line values parsed into the card crate's types (never echoing a secret)
//! ```

mod answer;
mod approve;
mod input;
mod insert;
pub(crate) mod kiosk;
mod lifecycle;
mod link;
mod operate;
mod pinless;
mod points;
mod show;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use mykey_card::{
    CardFile, CardFileError, CardFileLock, ClientError, CredentialId, TransportError,
};

#[derive(Debug, Subcommand)]
pub(crate) enum CardCommand {
    /// Make a virtual card: keys generated inside it, certified by J-LIS, saved to a card file.
    Issue(lifecycle::IssueArgs),
    /// Renew the card's certificates: new keys inside the card, certified by J-LIS.
    Renew(lifecycle::RenewArgs),
    /// Show a card file as JSON: certificates, retry counters, facts (never a secret).
    Show(show::ShowArgs),
    /// Sign a challenge with the user-identification key; prints the signature as base64.
    Sign(operate::SignArgs),
    /// Read the four facts from the ticket-item AP (by its PIN or by access key B); prints JSON.
    Facts(operate::FactsArgs),
    /// Put a card file into pcscd's virtual reader (vpcd) until Ctrl-C or SIGTERM.
    Insert(insert::InsertArgs),
    /// Log in to the platform with the card (challenge, PIN, signature); prints the session.
    Login(operate::LoginArgs),
    /// Answer a relying party's Service ID link request: approve with the card, or decline.
    Link(link::LinkArgs),
    /// Answer a cross-device login (the phone app): approve with the card, or decline.
    Approve(approve::ApproveArgs),
    /// Answer a relying party's PIN-less request (Terms Art 20.2): read the card without a PIN,
    /// by access key B, and send its certificate and ticket-item facts.
    Pinless(pinless::PinlessArgs),
    /// The card-point programme (Terms Art 22-23): read it, apply with the card through one
    /// payment service, list or withdraw your applications.
    #[command(subcommand)]
    Points(points::PointsCommand),
}

pub(crate) async fn run(cmd: CardCommand) -> Result<(), String> {
    // `sign`, `facts` and `show` block (file saves, PC/SC) on the runtime's only task: harmless.
    match cmd {
        CardCommand::Issue(a) => lifecycle::issue(a).await,
        CardCommand::Renew(a) => lifecycle::renew(a).await,
        CardCommand::Show(a) => show::show(&a),
        CardCommand::Sign(a) => operate::sign(a),
        CardCommand::Facts(a) => operate::facts(a),
        CardCommand::Insert(a) => insert::insert(a).await,
        CardCommand::Login(a) => operate::login(a).await,
        CardCommand::Link(a) => link::link(a).await,
        CardCommand::Approve(a) => approve::approve(a).await,
        CardCommand::Pinless(a) => pinless::pinless(a).await,
        CardCommand::Points(c) => points::run(c).await,
    }
}

/// Which card an operation talks to.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Source {
    /// A virtual card's file (its retry counters are saved after every try).
    #[arg(long, value_name = "FILE")]
    card: Option<PathBuf>,
    /// A card in a PC/SC reader, by the reader's name ("" for the first reader holding a card).
    /// Needs mykey built with `--features pcsc`.
    #[arg(long, value_name = "NAME")]
    reader: Option<String>,
}

/// An existing card file, locked for this process until the guard drops. The lock is taken after
/// checking that the file exists, so that a mistyped path leaves nothing behind.
fn open_locked(path: &Path) -> Result<(CardFile, CardFileLock), String> {
    if !path.is_file() {
        return Err(format!("no card file at {}", path.display()));
    }
    let file = CardFile::new(path);
    let lock = file.try_lock().map_err(|e| card_file_error(&e))?;
    Ok((file, lock))
}

/// The issuance number of the user-identification certificate in the card file at `path`.
pub(crate) fn issuance_number_of(path: &Path) -> Result<mykey_pki::IssuanceNumber, String> {
    let (file, _lock) = open_locked(path)?;
    let card = file.load().map_err(|e| card_file_error(&e))?;
    let certificates = card.certificates().ok_or("the card has no certificates")?;
    Ok(
        mykey_pki::UserIdentificationCertificate::from_der(&certificates.user_identification)
            .map_err(|e| format!("the card's user-identification certificate: {e}"))?
            .issuance_number(),
    )
}

fn card_file_error(e: &CardFileError) -> String {
    match e {
        CardFileError::InUse { path } => format!(
            "card file {} is in use by another process (is `mykey card insert` holding it?)",
            path.display()
        ),
        e => e.to_string(),
    }
}

/// A card's refusal in words a holder understands.
fn client_error(e: ClientError) -> String {
    match e {
        ClientError::WrongPin {
            credential,
            tries_left,
        } => format!(
            "wrong {}: {tries_left} {} left before it is blocked",
            credential_name(credential),
            if tries_left == 1 { "try" } else { "tries" }
        ),
        ClientError::Blocked { credential } => format!(
            "the {} is blocked: no tries left (a real card's is reset at a municipal office)",
            credential_name(credential)
        ),
        ClientError::Transport(TransportError::Store(e)) => format!(
            "the card's new state could not be saved, so it withheld its answer: {}",
            card_file_error(&e)
        ),
        e => e.to_string(),
    }
}

fn credential_name(id: CredentialId) -> &'static str {
    match id {
        CredentialId::UiPin => "user-identification PIN",
        CredentialId::SignaturePassword => "signature password",
        CredentialId::TicketPin => "ticket-item PIN",
        CredentialId::AccessKeyA => "access key A",
        CredentialId::AccessKeyB => "access key B",
    }
}

fn json(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
