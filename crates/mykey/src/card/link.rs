//! `card link`: the person's side of a Service ID link request (Terms Art 17): show who asks for
//! what, then approve with the card and consent to the Art 17.2 items — or decline.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use mykey_api::link_requests::{LinkApproval, LinkRequest};
use mykey_api::me::ServiceId;

use super::{Source, answer, input};

#[derive(Debug, Args)]
pub(crate) struct LinkArgs {
    #[command(flatten)]
    source: Source,
    /// The user-identification PIN (not needed with --decline).
    #[arg(long, required_unless_present = "decline")]
    pin: Option<String>,
    /// The platform's URL.
    #[arg(
        long,
        env = "MYKEY_PLATFORM_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    platform: String,
    /// The link request: its ID, its path (`/v1/link-requests/…`) or its full URL. An ID is
    /// base64url and may begin with `-`: taken as the value, not as an option.
    #[arg(allow_hyphen_values = true)]
    request: String,
    /// Decline instead of approving.
    #[arg(long)]
    decline: bool,
}

pub(super) async fn link(a: LinkArgs) -> Result<(), String> {
    let url = answer::request_url(&a.platform, "/v1/link-requests/", &a.request)?;
    let http = answer::http()?;
    let shown: LinkRequest = answer::fetch(&http, &url).await?;
    eprintln!(
        "{} ({}) asks to link its customer ID {} to your My Key ID. You agree that:",
        shown.relying_party.name, shown.relying_party.kind, shown.customer_id,
    );
    let consent = answer::consent(&shown.consent, "");
    answer::inquiries(&shown.relying_party);
    if a.decline {
        return answer::decline(&http, &url, false).await;
    }
    let pin = input::pin("--pin", a.pin.as_deref().unwrap_or_default())?;
    let signed = answer::sign(&http, &url, &a.source, &pin).await?;
    let linked: ServiceId = crate::login::call(
        &http,
        &format!("{url}/approval"),
        &LinkApproval {
            nonce: signed.nonce,
            certificate: B64.encode(&signed.certificate),
            signature: B64.encode(&signed.signature),
            consent,
        },
    )
    .await?;
    println!(
        "{}",
        serde_json::to_value(&linked).map_err(|e| e.to_string())?
    );
    Ok(())
}
