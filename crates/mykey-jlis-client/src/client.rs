//! The HTTP client for the simulator (and for any J-LIS speaking the same JSON): used by the
//! command line and the platform. Every call has a timeout.

use std::time::Duration;

use mykey_pki::{CaCertificate, IssuanceNumber, Purpose, RevocationReason};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{
    CertificateState, ChangeFactsRequest, IssueRequest, IssuedCertificates,
    PreviousIssuanceNumbers, Problem, Published, RenewRequest, RevokeRequest,
    SignatureCertificateStatus,
};

/// A certificate's serial and standing, as J-LIS tells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertificateStatus {
    /// Its serial (for user identification: the issuance number).
    pub serial: IssuanceNumber,
    /// Good, expired, or revoked and why.
    pub state: CertificateStanding,
}

/// Where a certificate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateStanding {
    /// Valid and not revoked.
    Good,
    /// Past its end of validity.
    Expired,
    /// Revoked, with the reason J-LIS gives (if it is one RFC 5280 names).
    Revoked(Option<RevocationReason>),
}

/// The signature certificates of a user-identification certificate's holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureCertificates {
    /// The one issued together with it (none for people under 15).
    pub paired: Option<CertificateStatus>,
    /// The holder's newest.
    pub current: Option<CertificateStatus>,
}

/// What a call to J-LIS can end in.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// J-LIS could not be reached, or did not answer in time.
    #[error("J-LIS unreachable at {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// J-LIS refused the request with a problem document.
    #[error("J-LIS answered {}: {}", .problem.status, .problem.detail.as_deref().unwrap_or(&.problem.title))]
    Refused {
        /// The problem.
        problem: Problem,
    },
    /// The answer could not be understood.
    #[error("unexpected answer from {url}: {reason}")]
    BadAnswer {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// A J-LIS client bound to one base URL.
#[derive(Clone, Debug)]
pub struct JlisClient {
    base: String,
    http: reqwest::Client,
}

impl JlisClient {
    /// A client for `base` (e.g. `http://127.0.0.1:8081`) with a per-call `timeout`; refused
    /// when the HTTP client cannot be built (never a client without the timeout).
    pub fn new(base: &str, timeout: Duration) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base.to_owned(),
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Certifies a new card's keys.
    pub async fn issue(&self, req: &IssueRequest) -> Result<IssuedCertificates, ClientError> {
        self.post("/v1/admin/certificates", req).await
    }

    /// Renews a card's certificates.
    pub async fn renew(&self, req: &RenewRequest) -> Result<IssuedCertificates, ClientError> {
        self.post("/v1/admin/renewals", req).await
    }

    /// Revokes a certificate.
    pub async fn revoke(&self, req: &RevokeRequest) -> Result<CertificateState, ClientError> {
        self.post("/v1/admin/revocations", req).await
    }

    /// Records a change of the four facts.
    pub async fn change_facts(
        &self,
        req: &ChangeFactsRequest,
    ) -> Result<IssuedCertificates, ClientError> {
        self.post("/v1/admin/fact-changes", req).await
    }

    /// Publishes complete and delta CRLs now.
    pub async fn publish_crls(&self) -> Result<Published, ClientError> {
        self.post("/v1/admin/crls", &serde_json::json!({})).await
    }

    /// Publishes delta CRLs now (complete ones only where due).
    pub async fn publish_delta_crls(&self) -> Result<Published, ClientError> {
        self.post("/v1/admin/crls?only=delta", &serde_json::json!({}))
            .await
    }

    /// A certificate's state.
    pub async fn certificate(&self, serial: &str) -> Result<CertificateState, ClientError> {
        self.get_json(&format!("/v1/admin/certificates/{serial}"))
            .await
    }

    /// The earlier issuance numbers of the same person, newest first.
    pub async fn previous_issuance_numbers(
        &self,
        n: &str,
    ) -> Result<PreviousIssuanceNumbers, ClientError> {
        self.get_json(&format!("/v1/issuance-numbers/{n}/previous"))
            .await
    }

    /// The status of the signature certificate tied to a user-identification certificate.
    pub async fn signature_certificate_status(
        &self,
        n: &str,
    ) -> Result<SignatureCertificateStatus, ClientError> {
        self.get_json(&format!(
            "/v1/issuance-numbers/{n}/signature-certificate-status"
        ))
        .await
    }

    /// Whether `check` is J-LIS's signature over the ticket-item facts of the holder of
    /// user-identification certificate `n` as they are now.
    pub async fn ticket_item_status(
        &self,
        n: IssuanceNumber,
        check: &crate::api::TicketItemCheck,
    ) -> Result<crate::api::TicketItemStatus, ClientError> {
        self.post(&format!("/v1/issuance-numbers/{n}/ticket-items"), check)
            .await
    }

    /// The earlier user-identification issuance numbers of the holder of `n`, newest first,
    /// typed: an answer holding anything but issuance numbers is refused.
    pub async fn earlier_issuance_numbers(
        &self,
        n: IssuanceNumber,
    ) -> Result<Vec<IssuanceNumber>, ClientError> {
        let path = format!("/v1/issuance-numbers/{n}/previous");
        let answer: PreviousIssuanceNumbers = self.get_json(&path).await?;
        answer
            .previous
            .iter()
            .map(|p| self.number(&path, p))
            .collect()
    }

    /// The signature certificates of the holder of user-identification certificate `n`, typed:
    /// serials as issuance numbers, revocation reasons as RFC 5280 reasons.
    pub async fn signature_certificates(
        &self,
        n: IssuanceNumber,
    ) -> Result<SignatureCertificates, ClientError> {
        let path = format!("/v1/issuance-numbers/{n}/signature-certificate-status");
        let answer: SignatureCertificateStatus = self.get_json(&path).await?;
        let typed = |c: &CertificateState| -> Result<CertificateStatus, ClientError> {
            let state = match c.status.as_str() {
                "good" => CertificateStanding::Good,
                "expired" => CertificateStanding::Expired,
                "revoked" => CertificateStanding::Revoked(
                    c.reason.as_deref().and_then(RevocationReason::from_name),
                ),
                other => return Err(self.bad(&path, format!("unknown status {other:?}"))),
            };
            Ok(CertificateStatus {
                serial: self.number(&path, &c.serial)?,
                state,
            })
        };
        Ok(SignatureCertificates {
            paired: answer.paired.as_ref().map(typed).transpose()?,
            current: answer.current.as_ref().map(typed).transpose()?,
        })
    }

    fn number(&self, path: &str, s: &str) -> Result<IssuanceNumber, ClientError> {
        s.parse()
            .map_err(|_| self.bad(path, format!("malformed issuance number {s:?}")))
    }

    /// Every CA generation with its revocation URLs.
    pub async fn cas(&self) -> Result<Vec<crate::api::CaEntry>, ClientError> {
        self.get_json("/v1/cas").await
    }

    /// Every generation of a CA.
    pub async fn ca_certificates(
        &self,
        purpose: Purpose,
    ) -> Result<Vec<CaCertificate>, ClientError> {
        let path = format!("/ca/{}.pem", purpose.slug());
        let bytes = self.get_bytes(&path).await?;
        let text = String::from_utf8(bytes).map_err(|e| self.bad(&path, e))?;
        CaCertificate::from_pem_chain(&text).map_err(|e| self.bad(&path, e))
    }

    /// Raw bytes from a path or absolute URL (CRLs).
    pub async fn get_bytes(&self, path_or_url: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.url(path_or_url);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| unreachable(&url, e))?;
        self.read(&url, resp).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let bytes = self.get_bytes(path).await?;
        serde_json::from_slice(&bytes).map_err(|e| self.bad(path, e))
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let url = self.url(path);
        let resp = self
            .http
            .post(&url)
            .json(body)
            .send()
            .await
            .map_err(|e| unreachable(&url, e))?;
        let bytes = self.read(&url, resp).await?;
        serde_json::from_slice(&bytes).map_err(|e| self.bad(path, e))
    }

    async fn read(&self, url: &str, resp: reqwest::Response) -> Result<Vec<u8>, ClientError> {
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| unreachable(url, e))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let problem = serde_json::from_slice::<Problem>(&bytes).unwrap_or(Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("error").into(),
            status: status.as_u16(),
            detail: None,
        });
        Err(ClientError::Refused { problem })
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    fn bad(&self, path: &str, e: impl std::fmt::Display) -> ClientError {
        ClientError::BadAnswer {
            url: self.url(path),
            reason: e.to_string(),
        }
    }
}

fn unreachable(url: &str, e: reqwest::Error) -> ClientError {
    ClientError::Unreachable {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}
