//! `card sign` and `card facts`: the card client ([`JpkiCard`]) over a card file — the card in
//! this process, its counters saved before each answer, so a wrong PIN counts across runs — or
//! over a card in a PC/SC reader.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use mykey_card::{CardFileLock, FactsAccess, JpkiCard, MemoryTransport, Transport};

use super::{Source, card_file_error, client_error, input, open_locked};

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    source: Source,
    /// The user-identification PIN (a wrong one uses one of its 3 tries).
    #[arg(long)]
    pin: String,
    #[command(flatten)]
    challenge: Challenge,
}

/// What `sign` signs: text or base64, exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Challenge {
    /// The challenge to sign, as text (its UTF-8 bytes).
    data: Option<String>,
    /// The challenge to sign, as base64 (for binary challenges).
    #[arg(long, value_name = "BASE64")]
    data_base64: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct FactsArgs {
    #[command(flatten)]
    source: Source,
    /// The ticket-item PIN (a wrong one uses one of its 3 tries).
    #[arg(
        long,
        required_unless_present = "access_key_birth",
        conflicts_with_all = ["access_key_birth", "expiry_year", "security_code"]
    )]
    pin: Option<String>,
    /// Access key B, the PIN-less route: the date of birth printed on the card, YYMMDD.
    #[arg(long, value_name = "YYMMDD", requires_all = ["expiry_year", "security_code"])]
    access_key_birth: Option<String>,
    /// Access key B: the expiry year printed on the card.
    #[arg(long, value_name = "YYYY", requires = "access_key_birth")]
    expiry_year: Option<String>,
    /// Access key B: the 4-digit security code printed on the card.
    #[arg(long, value_name = "NNNN", requires = "access_key_birth")]
    security_code: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
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
    /// Print only the session token (for `MYKEY_OPERATOR_TOKEN`, when the holder is an
    /// operator), not the JSON.
    #[arg(long)]
    token_only: bool,
}

pub(super) async fn login(a: LoginArgs) -> Result<(), String> {
    let pin = input::pin("--pin", &a.pin)?;
    let mut opened = open(&a.source)?;
    let certificate = opened
        .card
        .read_certificate(mykey_card::CertificateFile::UserIdentification)
        .map_err(client_error)?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let session = crate::login::login(&http, &a.platform, |nonce| {
        let signature = opened
            .card
            .sign_challenge(&pin, nonce)
            .map_err(client_error)?;
        Ok((signature, certificate))
    })
    .await?;
    if a.token_only {
        println!("{}", session.token);
    } else {
        println!(
            "{}",
            serde_json::json!({"token": session.token, "token_type": "Bearer", "expires_at": session.expires_at})
        );
    }
    Ok(())
}

pub(super) fn sign(a: SignArgs) -> Result<(), String> {
    let pin = input::pin("--pin", &a.pin)?;
    let challenge = match (&a.challenge.data, &a.challenge.data_base64) {
        (_, Some(b64)) => B64
            .decode(b64.trim())
            .map_err(|e| format!("--data-base64: not base64: {e}"))?,
        (Some(text), None) => text.as_bytes().to_vec(),
        (None, None) => return Err("give the challenge as DATA or --data-base64".into()),
    };
    let mut opened = open(&a.source)?;
    let signature = opened
        .card
        .sign_challenge(&pin, &challenge)
        .map_err(client_error)?;
    println!("{}", B64.encode(signature));
    Ok(())
}

pub(super) fn facts(a: FactsArgs) -> Result<(), String> {
    let pin;
    let key;
    let access = match (
        &a.pin,
        &a.access_key_birth,
        &a.expiry_year,
        &a.security_code,
    ) {
        (Some(p), None, None, None) => {
            pin = input::pin("--pin", p)?;
            FactsAccess::Pin(&pin)
        }
        (None, Some(birth), Some(expiry), Some(code)) => {
            key = input::access_key(birth, expiry, code)?;
            FactsAccess::AccessKey(&key)
        }
        _ => {
            return Err(
                "give --pin, or --access-key-birth with --expiry-year and --security-code".into(),
            );
        }
    };
    let mut opened = open(&a.source)?;
    let facts = opened.card.read_facts(access).map_err(client_error)?;
    println!("{}", super::json(&super::show::facts_json(&facts)));
    Ok(())
}

/// The card client over the card `source` names, and for a card file the file's lock, held as
/// long as this lives.
pub(super) struct Opened {
    pub(super) card: JpkiCard<Box<dyn Transport>>,
    _lock: Option<CardFileLock>,
}

pub(super) fn open(source: &Source) -> Result<Opened, String> {
    match (&source.card, &source.reader) {
        (Some(path), _) => {
            let (file, lock) = open_locked(path)?;
            let card = file.load().map_err(|e| card_file_error(&e))?;
            Ok(Opened {
                card: JpkiCard::new(Box::new(MemoryTransport::with_store(card, file))),
                _lock: Some(lock),
            })
        }
        (None, Some(reader)) => Ok(Opened {
            card: JpkiCard::new(reader_transport(reader)?),
            _lock: None,
        }),
        (None, None) => Err("give --card FILE or --reader NAME".into()),
    }
}

#[cfg(feature = "pcsc")]
fn reader_transport(name: &str) -> Result<Box<dyn Transport>, String> {
    let name = (!name.is_empty()).then_some(name);
    match mykey_card::PcscTransport::connect(name) {
        Ok(t) => Ok(Box::new(t)),
        Err(mykey_card::TransportError::NoReader { name }) => {
            let known = mykey_card::PcscTransport::readers().unwrap_or_default();
            Err(format!(
                "no smart-card reader {name:?}; pcscd knows {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    format!("{known:?}")
                }
            ))
        }
        Err(
            e @ mykey_card::TransportError::Pcsc {
                operation: "establish",
                ..
            },
        ) => Err(format!("{e} (is pcscd running?)")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(not(feature = "pcsc"))]
fn reader_transport(_: &str) -> Result<Box<dyn Transport>, String> {
    Err(
        "this mykey was built without PC/SC support: rebuild it with \
         `cargo build -p mykey --features pcsc` (needs pcsc-lite's headers, Debian \
         libpcsclite-dev), or use --card FILE"
            .into(),
    )
}
