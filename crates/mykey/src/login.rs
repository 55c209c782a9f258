//! Logging in to the platform with a card: challenge → the card signs → response → session.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use serde_json::{Value, json};

/// What a login produced.
#[derive(Debug)]
pub(crate) struct LoginSession {
    pub(crate) token: String,
    pub(crate) expires_at: String,
}

/// Runs the card login against `platform` with `sign`, which must return the card's signature
/// over the nonce and the user-identification certificate (DER).
pub(crate) async fn login(
    http: &reqwest::Client,
    platform: &str,
    sign: impl FnOnce(&[u8]) -> Result<(Vec<u8>, Vec<u8>), String>,
) -> Result<LoginSession, String> {
    let base = platform.trim_end_matches('/');
    let challenge = call(
        http,
        &format!("{base}/v1/auth/challenges"),
        &json!({"purpose": "login"}),
    )
    .await?;
    let nonce_text = challenge["nonce"]
        .as_str()
        .ok_or("the platform sent no nonce")?;
    let nonce = B64URL
        .decode(nonce_text)
        .map_err(|_| "the platform sent a malformed nonce")?;
    let (signature, certificate) = sign(&nonce)?;
    let session = call(
        http,
        &format!("{base}/v1/auth/responses"),
        &json!({
            "nonce": nonce_text,
            "purpose": "login",
            "certificate": B64.encode(certificate),
            "signature": B64.encode(signature),
        }),
    )
    .await?;
    Ok(LoginSession {
        token: session["token"]
            .as_str()
            .ok_or("the platform sent no token")?
            .to_owned(),
        expires_at: session["expires_at"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}

pub(crate) async fn call(http: &reqwest::Client, url: &str, body: &Value) -> Result<Value, String> {
    let resp = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !status.is_success() {
        let detail = value["detail"]
            .as_str()
            .or(value["title"].as_str())
            .unwrap_or("error");
        return Err(format!("the platform refused ({status}): {detail}"));
    }
    Ok(value)
}
