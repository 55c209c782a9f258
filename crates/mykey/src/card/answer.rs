//! What the card holder's answers share (`card link`, `card approve`): fetching the request the
//! platform shows, listing the consent items, declining, and the card's signature over a fresh
//! challenge of the request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_api::ConsentAsked;
use mykey_api::auth::Challenge;
use mykey_api::authorizations::AuthorizationRefusal;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Source, client_error, operate};

/// The URL of a request the person answers, given as its ID or handle, its path (under
/// `prefix`, `/v1/…/`) or its full URL (which must be on `platform`).
pub(super) fn request_url(platform: &str, prefix: &str, request: &str) -> Result<String, String> {
    let base = platform.trim_end_matches('/');
    Ok(
        if request.starts_with("http://") || request.starts_with("https://") {
            on_platform(request, base)?
        } else if request.starts_with(prefix) {
            format!("{base}{request}")
        } else {
            format!("{base}{prefix}{request}")
        },
    )
}

/// An HTTP client for answering requests.
pub(super) fn http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())
}

/// The request at `url` as the platform shows it.
pub(super) async fn fetch<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(crate::login::refusal(status, &text));
    }
    serde_json::from_str(&text)
        .map_err(|e| format!("the platform's answer from {url} is not what was expected: {e}"))
}

/// Prints the consent items of `shown` under `heading` (nothing when there are none); answers
/// the consent that agrees to exactly those items, under the terms version shown.
/// Where the person turns to the relying party (Terms Art 17.2.3, 18, 21), printed before they
/// agree to anything.
pub(super) fn inquiries(rp: &mykey_api::RelyingPartyShown) {
    match (&rp.contact, &rp.privacy_policy_url, &rp.terms_url) {
        (Some(c), Some(p), Some(t)) => eprintln!(
            "Inquiries about this go to {} itself: {c}. Its privacy policy: {p}; its terms: {t}.",
            rp.name
        ),
        _ => eprintln!(
            "{} has not registered a contact point, privacy policy or terms with the platform.",
            rp.name
        ),
    }
}

pub(super) fn consent(shown: &ConsentAsked, heading: &str) -> mykey_api::ConsentGiven {
    if !shown.items.is_empty() && !heading.is_empty() {
        eprintln!("{heading}");
    }
    for item in &shown.items {
        eprintln!("  - {}", item.text);
    }
    eprintln!("  (terms of use, version {})", shown.terms_version);
    mykey_api::ConsentGiven {
        items: shown.items.iter().map(|i| i.name.clone()).collect(),
        terms_version: shown.terms_version.clone(),
    }
}

/// Declines the request at `url`.
/// Declines the request at `url`; with `report`, reports it as not the person's own.
pub(super) async fn decline(http: &reqwest::Client, url: &str, report: bool) -> Result<(), String> {
    let mut req = http.post(format!("{url}/refusal"));
    if report {
        req = req.json(&AuthorizationRefusal { report: true });
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("the platform refused ({})", resp.status()));
    }
    if report {
        println!("{}", json!({"declined": true, "reported": true}));
    } else {
        println!("{}", json!({"declined": true}));
    }
    Ok(())
}

/// The card's answer to a fresh challenge of the request at `url`.
pub(super) struct Signed {
    /// The challenge's nonce as the platform sent it.
    pub(super) nonce: String,
    /// The user-identification certificate, DER.
    pub(super) certificate: Vec<u8>,
    /// The signature over the nonce.
    pub(super) signature: Vec<u8>,
    /// The card, still open (for reading the facts too).
    pub(super) opened: operate::Opened,
}

pub(super) async fn sign(
    http: &reqwest::Client,
    url: &str,
    source: &Source,
    pin: &mykey_card::Pin,
) -> Result<Signed, String> {
    let challenge: Challenge =
        crate::login::call(http, &format!("{url}/challenges"), &json!({})).await?;
    let nonce = challenge.nonce;
    let raw = B64URL
        .decode(&nonce)
        .map_err(|_| "the platform sent a malformed nonce")?;
    let mut opened = operate::open(source)?;
    let certificate = opened
        .card
        .read_certificate(mykey_card::CertificateFile::UserIdentification)
        .map_err(client_error)?;
    let signature = opened
        .card
        .sign_challenge(pin, &raw)
        .map_err(client_error)?;
    Ok(Signed {
        nonce,
        certificate,
        signature,
        opened,
    })
}

/// `url` if it is on the platform at `platform` (same scheme, host and port): the phone sends
/// the card's answer only to its own platform, never to a host a link or QR code names — a
/// relay there would read the approval's confirmation code and could pass a short-code
/// approval off as a QR one.
pub(super) fn on_platform(url: &str, platform: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|_| format!("{url} is not a URL"))?;
    let own =
        url::Url::parse(platform).map_err(|_| format!("--platform {platform} is not a URL"))?;
    if parsed.origin() != own.origin()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(format!(
            "{url} is not on your platform ({}): refusing to send the card's answer there (set --platform if your platform is elsewhere)",
            own.origin().ascii_serialization()
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}
