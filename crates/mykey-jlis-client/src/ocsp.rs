//! OCSP over HTTP (RFC 6960 Appendix A): GET for requests whose base64 fits in 255 bytes, POST
//! otherwise, `application/ocsp-request` / `application/ocsp-response`, a hard timeout.

use std::time::Duration;

use base64::Engine;

use mykey_pki::ocsp::{Answer, Request};
use mykey_pki::{CaCertificate, IssuanceNumber, MAX_OCSP_LEN, UnixTime};

/// What an OCSP exchange can end in.
#[derive(Debug, thiserror::Error)]
pub enum OcspError {
    /// The exchange failed.
    #[error("HTTP request to {url} failed: {reason}")]
    Http {
        /// The URL asked.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The exchange took longer than allowed.
    #[error("HTTP request to {url} timed out after {millis} ms")]
    Timeout {
        /// The URL asked.
        url: String,
        /// The limit.
        millis: u64,
    },
    /// The request could not be made, or the answer was refused.
    #[error(transparent)]
    Pki(#[from] mykey_pki::Error),
}

/// An OCSP client with a fixed timeout for the whole exchange.
#[derive(Clone, Debug)]
pub struct OcspClient {
    http: reqwest::Client,
    timeout: Duration,
}

impl OcspClient {
    /// A client whose exchanges end after `timeout`; refused when the HTTP client cannot be
    /// built (never a client without the timeout).
    pub fn new(timeout: Duration) -> Result<Self, OcspError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| OcspError::Http {
                url: String::new(),
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self { http, timeout })
    }

    /// Asks `url` about `serial` under `issuer` with a fresh nonce, and verifies the answer at `at`.
    pub async fn check(
        &self,
        url: &str,
        issuer: &CaCertificate,
        serial: IssuanceNumber,
        at: UnixTime,
    ) -> Result<Answer, OcspError> {
        let request = Request::new(issuer, serial)?;
        let body = self.send(url, &request).await?;
        Ok(request.verify_response(&body, issuer, at)?)
    }

    /// Sends `request` and returns the raw response body (at most [`MAX_OCSP_LEN`] bytes).
    pub async fn send(&self, url: &str, request: &Request) -> Result<Vec<u8>, OcspError> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(request.der());
        let builder = if encoded.len() <= 255 {
            let path = encoded
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D");
            self.http
                .get(format!("{}/{path}", url.trim_end_matches('/')))
        } else {
            self.http
                .post(url)
                .header("content-type", "application/ocsp-request")
                .body(request.der().to_vec())
        };
        let fail = |reason: String| OcspError::Http {
            url: url.to_owned(),
            reason,
        };
        let exchange = async {
            let mut resp = builder.send().await.map_err(|e| self.map(url, e))?;
            if !resp.status().is_success() {
                return Err(fail(format!("HTTP status {}", resp.status())));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| self.map(url, e))? {
                if body.len() + chunk.len() > MAX_OCSP_LEN {
                    return Err(fail(format!("response larger than {MAX_OCSP_LEN} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| self.timed_out(url))?
    }

    fn map(&self, url: &str, e: reqwest::Error) -> OcspError {
        if e.is_timeout() {
            self.timed_out(url)
        } else {
            OcspError::Http {
                url: url.to_owned(),
                reason: e.to_string(),
            }
        }
    }

    fn timed_out(&self, url: &str) -> OcspError {
        OcspError::Timeout {
            url: url.to_owned(),
            millis: self.timeout.as_millis() as u64,
        }
    }
}
