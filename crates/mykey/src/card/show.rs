//! `card show`: what a card file holds, as JSON — certificates (serial, subject, issuer,
//! validity), retry counters, the four facts. Keys, PINs, passwords and access keys never appear.

use std::path::PathBuf;

use clap::Args;
use der::Decode;
use mykey_card::{CardFile, CertificateFile, RetryCount, TicketFacts};
use mykey_pki::{IssuanceNumber, UnixTime};
use serde_json::{Value, json};

use super::card_file_error;

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The card file.
    #[arg(long)]
    card: PathBuf,
    /// Also give each certificate as PEM (field `pem`).
    #[arg(long)]
    pem: bool,
}

pub(super) fn show(a: &ShowArgs) -> Result<(), String> {
    if !a.card.is_file() {
        return Err(format!("no card file at {}", a.card.display()));
    }
    // Read-only: saves are atomic renames, so no lock is needed to read a consistent card.
    let card = CardFile::new(&a.card)
        .load()
        .map_err(|e| card_file_error(&e))?;
    let summary = card.summary();
    let certificates = match &summary.certificates {
        Some(c) => {
            let mut out = serde_json::Map::new();
            for (which, der) in [
                (CertificateFile::UserIdentification, &c.user_identification),
                (
                    CertificateFile::UserIdentificationCa,
                    &c.user_identification_ca,
                ),
                (CertificateFile::Signature, &c.signature),
                (CertificateFile::SignatureCa, &c.signature_ca),
            ] {
                let mut v = describe(der)?;
                if a.pem {
                    v["pem"] = Value::String(mykey_pki::to_pem("CERTIFICATE", der));
                }
                out.insert(field(which).into(), v);
            }
            Value::Object(out)
        }
        None => Value::Null,
    };
    let counter =
        |c: RetryCount| json!({ "left": c.left, "max": c.max, "blocked": c.is_blocked() });
    let mut counters = json!({
        "user_identification_pin": counter(summary.ui_pin),
        "signature_password": counter(summary.sign_password),
        "ticket_pin": counter(summary.ticket_pin),
    });
    if let Some(c) = summary.access_key_a {
        counters["access_key_a"] = counter(c);
    }
    if let Some(c) = summary.access_key_b {
        counters["access_key_b"] = counter(c);
    }
    let out = json!({
        "card": a.card.display().to_string(),
        "awaiting_certificates": summary.awaiting_certificates,
        "certificates": certificates,
        "retry_counters": counters,
        "facts": facts_json(&summary.facts),
    });
    println!("{}", super::json(&out));
    Ok(())
}

/// The four facts as `show` and `facts` print them.
pub(super) fn facts_json(f: &TicketFacts) -> Value {
    let b = f.birth_date();
    json!({
        "name": f.name(),
        "address": f.address(),
        "birth_date": format!("{:04}-{:02}-{:02}", b.year(), u8::from(b.month()), b.day()),
        "sex": f.sex().iso5218(),
    })
}

fn field(which: CertificateFile) -> &'static str {
    match which {
        CertificateFile::UserIdentification => "user_identification",
        CertificateFile::UserIdentificationCa => "user_identification_ca",
        CertificateFile::Signature => "signature",
        CertificateFile::SignatureCa => "signature_ca",
    }
}

/// Serial (upper-case hex, as OpenSSL prints it), names and validity of a certificate. The card
/// checked the JPKI profiles when it installed them; this only reads.
fn describe(der: &[u8]) -> Result<Value, String> {
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| format!("the card holds a certificate that does not parse: {e}"))?;
    let tbs = &cert.tbs_certificate;
    let serial = IssuanceNumber::from_be_bytes(tbs.serial_number.as_bytes())
        .map(|n| n.to_string())
        .unwrap_or_else(|_| hex::encode_upper(tbs.serial_number.as_bytes()));
    let time = |t: &x509_cert::time::Time| UnixTime::from_secs(t.to_unix_duration().as_secs());
    Ok(json!({
        "serial": serial,
        "subject": tbs.subject.to_string(),
        "issuer": tbs.issuer.to_string(),
        "not_before": time(&tbs.validity.not_before).to_string(),
        "not_after": time(&tbs.validity.not_after).to_string(),
    }))
}
