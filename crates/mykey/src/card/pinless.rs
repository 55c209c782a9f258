//! `card pinless`: the terminal's side of the PIN-less route (Terms Art 20.2). It shows who asks
//! and what the person agrees to, then reads the card without any PIN — the user-identification
//! certificate (free) and the ticket-item AP's facts and J-LIS's signature over them, opened by
//! access key B made of the date of birth the relying party holds, the card's expiry year and
//! its security code — and answers the request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use mykey_api::pinless::{
    PinlessApproval, PinlessApproved, PinlessRequestShown, TicketItemSignature,
};
use mykey_card::{CertificateFile, FactsAccess};

use super::{Source, answer, client_error, input, operate};

#[derive(Debug, Args)]
pub(crate) struct PinlessArgs {
    #[command(flatten)]
    source: Source,
    /// Access key B: the expiry year printed on the card.
    #[arg(long, value_name = "YYYY")]
    expiry_year: String,
    /// Access key B: the 4-digit security code printed on the card.
    #[arg(long, value_name = "NNNN")]
    security_code: String,
    /// The platform's URL.
    #[arg(
        long,
        env = "MYKEY_PLATFORM_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    platform: String,
    /// The PIN-less request: its handle, its path (`/v1/pinless-requests/…`) or its full URL.
    /// A handle is base64url and may begin with `-`: taken as the value, not as an option.
    #[arg(allow_hyphen_values = true)]
    request: String,
}

pub(super) async fn pinless(a: PinlessArgs) -> Result<(), String> {
    let url = answer::request_url(&a.platform, "/v1/pinless-requests/", &a.request)?;
    let http = answer::http()?;
    let shown: PinlessRequestShown = answer::fetch(&http, &url).await?;
    eprintln!(
        "{} ({}) asks, for its service {}, to read your card without a PIN and to learn your \
         name, address, date of birth and sex. You agree that:",
        shown.relying_party.name, shown.relying_party.kind, shown.ppid_service.name,
    );
    let consent = answer::consent(&shown.consent, "");
    answer::inquiries(&shown.relying_party);
    // Key B opens the facts with the date of birth the relying party holds (Art 20.2.1).
    let birth = shown.birth_date.replace('-', "");
    let yymmdd = birth
        .get(2..8)
        .filter(|_| birth.len() == 8)
        .ok_or("the platform sent a date of birth that is not YYYY-MM-DD")?;
    let key = input::access_key(yymmdd, &a.expiry_year, &a.security_code)?;
    let mut opened = operate::open(&a.source)?;
    let certificate = opened
        .card
        .read_certificate(CertificateFile::UserIdentification)
        .map_err(client_error)?;
    let (facts_file, signature) = opened
        .card
        .read_ticket_items(FactsAccess::AccessKey(&key))
        .map_err(client_error)?;
    drop(opened);
    let approved: PinlessApproved = crate::login::call(
        &http,
        &format!("{url}/approval"),
        &PinlessApproval {
            certificate: B64.encode(&certificate),
            ticket_facts: B64.encode(&facts_file),
            ticket_signature: {
                let (facts_digest, item_id, signature) = signature.to_text();
                TicketItemSignature {
                    facts_digest,
                    item_id,
                    signature,
                }
            },
            consent,
        },
    )
    .await?;
    println!(
        "{}",
        serde_json::to_value(&approved).map_err(|e| e.to_string())?
    );
    Ok(())
}
