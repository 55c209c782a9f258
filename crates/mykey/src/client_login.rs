//! `client login`: plays a relying party's web site for one OpenID Connect login, so that the
//! tour (and anyone trying a client registration) needs no web site of their own. It makes the
//! PKCE verifier, `state` and `nonce`, prints the authorization URL for a browser, waits for the
//! redirect on a loopback port (RFC 8252 §7.3: `http://127.0.0.1:PORT/callback`, registered as
//! the client's redirect URI), checks `state` and `iss`, exchanges the code
//! (`client_secret_basic`), verifies the ID token against the platform's published keys
//! (signature, `iss`, `aud`, `nonce`, expiry) and prints its claims and userinfo's answer.

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use clap::Args;
use mykey_api::oidc::UserInfo;
use mykey_api::token::TokenResponse;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The relying party's client ID.
    #[arg(long, env = "CLIENT_ID")]
    client_id: String,
    /// Its client secret (client_secret_basic).
    #[arg(long, env = "CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// The scopes asked for: `openid` and any of name, address, birthdate, gender.
    #[arg(long, default_value = "openid")]
    scope: String,
    /// The loopback port the redirect comes back to; the client must have registered
    /// `http://127.0.0.1:PORT/callback`.
    #[arg(long, default_value_t = 8400)]
    port: u16,
    /// Seconds to wait for the login.
    #[arg(long, default_value_t = 300)]
    wait: u64,
    /// The platform (issuer) URL.
    #[arg(
        long,
        env = "MYKEY_PLATFORM_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    platform: String,
}

fn random() -> Result<String, String> {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| "no system randomness")?;
    Ok(B64URL.encode(b))
}

pub(crate) async fn login(a: LoginArgs) -> Result<(), String> {
    let issuer = a.platform.trim_end_matches('/').to_owned();
    let redirect = format!("http://127.0.0.1:{}/callback", a.port);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", a.port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on 127.0.0.1:{}: {e} (--port picks another)",
                a.port
            )
        })?;
    let (verifier, state, nonce) = (random()?, random()?, random()?);
    let challenge = B64URL.encode(digest(&SHA256, verifier.as_bytes()));
    let mut url = url::Url::parse(&format!("{issuer}/oidc/authorize"))
        .map_err(|_| format!("{issuer} is not a URL"))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &a.client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", &a.scope)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    eprintln!("Open this in a browser, and approve on the phone (mykey card approve):\n{url}\n");
    let query = tokio::time::timeout(Duration::from_secs(a.wait), callback(&listener))
        .await
        .map_err(|_| format!("no login came back within {} s", a.wait))??;
    let param = |k: &str| query.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
    if param("state") != Some(state.as_str()) {
        return Err("the redirect's state is not this login's".into());
    }
    if param("iss") != Some(issuer.as_str()) {
        return Err("the redirect's iss is not the platform's (RFC 9207)".into());
    }
    if let Some(e) = param("error") {
        return Err(format!(
            "the login was refused: {e}: {}",
            param("error_description").unwrap_or("")
        ));
    }
    let code = param("code").ok_or("the redirect carries no code")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = http
        .post(format!("{issuer}/oidc/token"))
        .basic_auth(&a.client_id, Some(&a.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .map_err(|e| format!("cannot reach {issuer}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("the token endpoint refused ({status}): {text}"));
    }
    let tokens: TokenResponse = serde_json::from_str(&text)
        .map_err(|e| format!("the token endpoint's answer is not a token response: {e}"))?;
    let id_token = tokens.id_token.as_deref().ok_or("no ID token")?;
    let access_token = &tokens.access_token;
    let claims = verify_id_token(&http, &issuer, id_token, &a.client_id, &nonce).await?;
    let userinfo: UserInfo = http
        .get(format!("{issuer}/oidc/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| format!("userinfo did not answer JSON: {e}"))?;
    println!(
        "{:#}",
        json!({"id_token_claims": claims, "userinfo": userinfo, "access_token": access_token})
    );
    Ok(())
}

/// Waits for the browser's `GET /callback?…` and answers it; the query's pairs.
async fn callback(listener: &tokio::net::TcpListener) -> Result<Vec<(String, String)>, String> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut n = 0;
        while n < buf.len() && !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf[n..]).await {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        let head = String::from_utf8_lossy(&buf[..n]);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or("");
        let Some(query) = target.strip_prefix("/callback?") else {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            continue;
        };
        let pairs = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let body = "Logged in: the result is in the terminal. You can close this tab.";
        let _ = stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await;
        return Ok(pairs);
    }
}

/// The ID token's claims, once its signature verifies with a key the platform publishes (the
/// same check the platform makes of client assertions, `ClientJwks`) and its `iss`, `aud`,
/// `nonce` and `exp` are this login's.
async fn verify_id_token(
    http: &reqwest::Client,
    issuer: &str,
    token: &str,
    client_id: &str,
    nonce: &str,
) -> Result<Value, String> {
    let bad = |why: &str| format!("the ID token does not verify: {why}");
    let jwks = http
        .get(format!("{issuer}/oidc/jwks"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let payload = mykey_platform::ClientJwks::parse(&jwks)
        .map_err(|e| bad(&format!("the published keys: {e}")))?
        .verified_payload(token)
        .ok_or_else(|| bad("the signature"))?;
    let claims: Value = serde_json::from_slice(&payload).map_err(|_| bad("claims"))?;
    let now = mykey_pki::UnixTime::now().as_secs();
    if claims["iss"] != issuer {
        return Err(bad("iss"));
    }
    if claims["aud"] != client_id
        && !claims["aud"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == client_id))
    {
        return Err(bad("aud"));
    }
    if claims["nonce"] != nonce {
        return Err(bad("nonce"));
    }
    if claims["exp"].as_u64().is_none_or(|e| e < now) {
        return Err(bad("expired"));
    }
    Ok(claims)
}
