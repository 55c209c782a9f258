//! `card link`: the person's side of a Service ID link request (Terms Art 17): show who asks for
//! what, then approve with the card and consent to the Art 17.2 items — or decline.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use clap::Args;
use serde_json::{Value, json};

use super::{Source, client_error, input, operate};

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
    /// The link request: its ID, its path (`/v1/link-requests/…`) or its full URL.
    request: String,
    /// Decline instead of approving.
    #[arg(long)]
    decline: bool,
}

pub(super) async fn link(a: LinkArgs) -> Result<(), String> {
    let base = a.platform.trim_end_matches('/');
    let url = if a.request.starts_with("http://") || a.request.starts_with("https://") {
        a.request.clone()
    } else if a.request.starts_with("/v1/link-requests/") {
        format!("{base}{}", a.request)
    } else {
        format!("{base}/v1/link-requests/{}", a.request)
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let shown: Value = {
        let resp = http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!(
                "the platform refused ({status}): {}",
                v["detail"].as_str().unwrap_or("error")
            ));
        }
        v
    };
    eprintln!(
        "{} ({}) asks to link its customer ID {} to your My Key ID. You agree that:",
        shown["relying_party"]["name"].as_str().unwrap_or("?"),
        shown["relying_party"]["kind"].as_str().unwrap_or("?"),
        shown["customer_id"].as_str().unwrap_or("?"),
    );
    let items = shown["consent"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for item in &items {
        eprintln!("  - {}", item["text"].as_str().unwrap_or(""));
    }
    let terms = shown["consent"]["terms_version"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    eprintln!("  (terms of use, version {terms})");
    if a.decline {
        let resp = http
            .post(format!("{url}/refusal"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("the platform refused ({})", resp.status()));
        }
        println!("{}", json!({"declined": true}));
        return Ok(());
    }
    let pin = input::pin("--pin", a.pin.as_deref().unwrap_or_default())?;
    let challenge = crate::login::call(&http, &format!("{url}/challenges"), &json!({})).await?;
    let nonce_text = challenge["nonce"]
        .as_str()
        .ok_or("the platform sent no nonce")?;
    let nonce = B64URL
        .decode(nonce_text)
        .map_err(|_| "the platform sent a malformed nonce")?;
    let mut opened = operate::open(&a.source)?;
    let certificate = opened
        .card
        .read_certificate(mykey_card::CertificateFile::UserIdentification)
        .map_err(client_error)?;
    let signature = opened
        .card
        .sign_challenge(&pin, &nonce)
        .map_err(client_error)?;
    let names: Vec<&str> = items.iter().filter_map(|i| i["name"].as_str()).collect();
    let linked = crate::login::call(
        &http,
        &format!("{url}/approval"),
        &json!({
            "nonce": nonce_text,
            "certificate": B64.encode(certificate),
            "signature": B64.encode(signature),
            "consent": {"items": names, "terms_version": terms},
        }),
    )
    .await?;
    println!("{linked}");
    Ok(())
}
