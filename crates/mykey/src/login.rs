//! Logging in to the platform with a card: challenge → the card signs → response → session.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use mykey_api::auth::{CardResponse, Challenge, ChallengeRequest, Session};
use mykey_api::problem::Problem;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    let challenge: Challenge = call(
        http,
        &format!("{base}/v1/auth/challenges"),
        &ChallengeRequest {
            purpose: "login".to_owned(),
        },
    )
    .await?;
    let nonce = B64URL
        .decode(&challenge.nonce)
        .map_err(|_| "the platform sent a malformed nonce")?;
    let (signature, certificate) = sign(&nonce)?;
    let session: Session = call(
        http,
        &format!("{base}/v1/auth/responses"),
        &CardResponse {
            nonce: challenge.nonce,
            purpose: "login".to_owned(),
            certificate: B64.encode(certificate),
            signature: B64.encode(signature),
        },
    )
    .await?;
    Ok(LoginSession {
        token: session.token,
        expires_at: session.expires_at,
    })
}

/// POSTs `body` to `url` and reads the answer as a `T`; a refusal is told by its problem
/// document's detail (or title).
pub(crate) async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    body: &B,
) -> Result<T, String> {
    let answer = send(http.post(url).json(body), url).await?;
    serde_json::from_value(answer)
        .map_err(|e| format!("the platform's answer from {url} is not what was expected: {e}"))
}

/// Sends `req` (to `url`, named in errors) and reads its JSON answer; a refusal is told by its
/// problem document's detail (or title).
pub(crate) async fn send(
    req: reqwest::RequestBuilder,
    url: &str,
) -> Result<serde_json::Value, String> {
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(refusal(status, &text));
    }
    serde_json::from_str(&text)
        .map_err(|e| format!("the platform's answer from {url} is not what was expected: {e}"))
}

/// A refusal in words: the problem document's detail, else its title.
pub(crate) fn refusal(status: reqwest::StatusCode, text: &str) -> String {
    let detail = serde_json::from_str::<Problem>(text)
        .ok()
        .map(|p| p.detail.unwrap_or(p.title))
        .unwrap_or_else(|| "error".to_owned());
    format!("the platform refused ({status}): {detail}")
}
