//! `card issue` and `card renew`: the card makes its keys, J-LIS certifies their public halves,
//! the card installs the certificates (after checking they are for its keys), and the card file
//! is saved with mode 0600.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use mykey_card::{CardFile, CardSecrets, Certificates, VirtualCard};
use mykey_jlis::api::{IssueRequest, IssuedCertificates, RenewRequest};
use mykey_pki::UserIdentificationCertificate;

use super::{card_file_error, input, open_locked};
use crate::jlis::{Target, client};

/// Why a card for someone under 15 is refused rather than made without a signature certificate.
const UNDER_FIFTEEN: &str = "J-LIS issues no signature certificate to people under 15, and a \
    virtual card cannot yet be made without one (the card installs all four certificates); \
    nothing was issued and no card file was written";

#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    #[command(flatten)]
    target: Target,
    /// Family and given name (separate them with an ideographic space, U+3000).
    #[arg(long)]
    name: String,
    /// Address from the prefecture on.
    #[arg(long)]
    address: String,
    /// Date of birth, YYYY-MM-DD.
    #[arg(long)]
    birth: String,
    /// ISO 5218: 1 male, 2 female, 9 not applicable.
    #[arg(long)]
    sex: u8,
    /// User-identification PIN: 4 digits, 3 tries.
    #[arg(long)]
    pin: String,
    /// Signature password: 6 to 16 characters of digits and A-Z, 5 tries.
    #[arg(long)]
    sign_password: String,
    /// Ticket-item PIN, 4 digits (default: the same as --pin, as many holders choose).
    #[arg(long)]
    ticket_pin: Option<String>,
    /// The expiry year printed on the card; with --security-code it makes access key B.
    #[arg(long, requires = "security_code")]
    expiry_year: Option<String>,
    /// The 4-digit security code printed on the card.
    #[arg(long, requires = "expiry_year")]
    security_code: Option<String>,
    /// Where to save the card (mode 0600: it holds the keys and PINs).
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing card file.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RenewArgs {
    #[command(flatten)]
    target: Target,
    /// The card file.
    #[arg(long)]
    card: PathBuf,
}

pub(super) async fn issue(a: IssueArgs) -> Result<(), String> {
    let facts = input::facts(&a.name, &a.address, &a.birth, a.sex)?;
    let birth = facts.birth_date();
    let mut secrets = CardSecrets::new(
        input::pin("--pin", &a.pin)?,
        input::sign_password(&a.sign_password)?,
        facts,
    );
    secrets.ticket_pin = a
        .ticket_pin
        .as_deref()
        .map(|p| input::pin("--ticket-pin", p))
        .transpose()?;
    secrets.face = input::face(a.expiry_year.as_deref(), a.security_code.as_deref())?;
    let refuse_existing = || {
        if a.out.exists() && !a.force {
            Err(format!(
                "{} exists: give --force to replace the card in it",
                a.out.display()
            ))
        } else {
            Ok(())
        }
    };
    refuse_existing()?;
    let file = CardFile::new(&a.out);
    // A card being replaced must not be in use (`card insert`): its lock is taken before J-LIS
    // is asked. A new file's lock is taken only once there is a card to save, so that a refusal
    // leaves nothing behind.
    let early_lock = if a.out.exists() {
        Some(file.try_lock().map_err(|e| card_file_error(&e))?)
    } else {
        None
    };

    let mut card = VirtualCard::generate(secrets).map_err(|e| e.to_string())?;
    let keys = card.public_keys();
    let req = IssueRequest {
        name: a.name,
        address: a.address,
        birth_date: format!(
            "{:04}-{:02}-{:02}",
            birth.year(),
            u8::from(birth.month()),
            birth.day()
        ),
        sex: a.sex,
        user_identification_public_key: B64.encode(&keys.user_identification),
        signature_public_key: Some(B64.encode(&keys.signature)),
    };
    let issued = match client(&a.target)?.issue(&req).await {
        Err(mykey_jlis_client::ClientError::Refused { problem })
            if problem.kind.ends_with(":under-fifteen") =>
        {
            return Err(UNDER_FIFTEEN.into());
        }
        r => r.map_err(|e| e.to_string())?,
    };
    install(&mut card, &issued)?;
    let _lock = match early_lock {
        Some(lock) => lock,
        None => {
            if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let lock = file.try_lock().map_err(|e| card_file_error(&e))?;
            // Another `card issue` may have written the file meanwhile.
            refuse_existing()?;
            lock
        }
    };
    file.save(&card).map_err(|e| card_file_error(&e))?;
    println!("{}", issued.issuance_number);
    Ok(())
}

pub(super) async fn renew(a: RenewArgs) -> Result<(), String> {
    let (file, _lock) = open_locked(&a.card)?;
    let mut card = file.load().map_err(|e| card_file_error(&e))?;
    let current = card
        .certificates()
        .ok_or("the card has no certificates to renew")?;
    let number = UserIdentificationCertificate::from_der(&current.user_identification)
        .map_err(|e| format!("the card's user-identification certificate: {e}"))?
        .issuance_number();
    let keys = card.renew_keys().map_err(|e| e.to_string())?;
    // Saved before J-LIS sees the new keys: a certificate is never issued for a key that lives
    // only in this process. The old keys keep signing until the new certificates are installed.
    file.save(&card).map_err(|e| card_file_error(&e))?;
    let req = RenewRequest {
        issuance_number: number.to_string(),
        user_identification_public_key: B64.encode(&keys.user_identification),
        signature_public_key: Some(B64.encode(&keys.signature)),
    };
    let issued = client(&a.target)?
        .renew(&req)
        .await
        .map_err(|e| e.to_string())?;
    install(&mut card, &issued)?;
    file.save(&card).map_err(|e| card_file_error(&e))?;
    println!("{}", issued.issuance_number);
    Ok(())
}

/// Installs what J-LIS issued; the card checks profiles, issuers and that the keys are its own.
fn install(card: &mut VirtualCard, issued: &IssuedCertificates) -> Result<(), String> {
    let der = |what: &str, b64: Option<&String>| -> Result<Vec<u8>, String> {
        let b64 = b64.ok_or_else(|| format!("J-LIS sent no {what}"))?;
        B64.decode(b64)
            .map_err(|e| format!("J-LIS sent a {what} that is not base64: {e}"))
    };
    let certificates = Certificates {
        user_identification: der(
            "user-identification certificate",
            issued.user_identification_certificate.as_ref(),
        )?,
        user_identification_ca: der(
            "user-identification CA certificate",
            Some(&issued.user_identification_ca),
        )?,
        signature: der(
            "signature certificate",
            issued.signature_certificate.as_ref(),
        )?,
        signature_ca: der("signature CA certificate", Some(&issued.signature_ca))?,
    };
    card.install_certificates(certificates)
        .map_err(|e| format!("the certificates J-LIS issued do not fit the card: {e}"))?;
    install_ticket_signature(card, issued)
}

/// Writes J-LIS's signature over the card's four facts to the ticket-item AP (file `0003`). A
/// card whose facts J-LIS no longer holds (they changed after it was made, and a virtual card
/// cannot rewrite them) keeps what it has: its ticket-item data is then outdated, as J-LIS
/// says to anyone who checks it.
fn install_ticket_signature(
    card: &mut VirtualCard,
    issued: &IssuedCertificates,
) -> Result<(), String> {
    let Some(t) = &issued.ticket_item_signature else {
        return Ok(());
    };
    let signed =
        mykey_pki::ticket::TicketSignature::from_text(&t.facts_digest, &t.item_id, &t.signature)
            .map_err(|e| format!("J-LIS sent an unusable ticket-item signature: {e}"))?;
    match card.install_ticket_signature(signed) {
        Ok(()) | Err(mykey_card::CardError::TicketSignatureMismatch) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
