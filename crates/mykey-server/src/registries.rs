//! The platform's side of Mynaportal and the public-fund account registry (`mykey-registries`
//! simulates both): their JSON APIs over HTTP, as [`mykey_platform::PointRegistries`].

use std::time::Duration;

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{PointRegistries, PublicFundAccount, RegistryUnavailable};
use serde_json::{Value, json};

/// Where the two registries are; either may be absent (its triggers then cannot be claimed).
#[derive(Debug)]
pub struct RegistryClient {
    http: reqwest::Client,
    mynaportal: Option<String>,
    account_registry: Option<String>,
}

impl RegistryClient {
    /// A client of Mynaportal at `mynaportal` and the account registry at `account_registry`
    /// (base URLs), each call limited to `timeout`.
    pub fn new(
        mynaportal: Option<&str>,
        account_registry: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let base = |u: Option<&str>| u.map(|u| u.trim_end_matches('/').to_owned());
        Ok(Self {
            http,
            mynaportal: base(mynaportal),
            account_registry: base(account_registry),
        })
    }

    async fn call(
        &self,
        base: Option<&String>,
        which: &str,
        path: &str,
        put: bool,
        body: Value,
    ) -> Result<(reqwest::StatusCode, Value), RegistryUnavailable> {
        let base = base.ok_or_else(|| RegistryUnavailable(format!("no {which} is configured")))?;
        let url = format!("{base}{path}");
        let request = if put {
            self.http.put(&url)
        } else {
            self.http.post(&url)
        };
        let down = |e: String| RegistryUnavailable(format!("{which}: {e}"));
        let r = request
            .json(&body)
            .send()
            .await
            .map_err(|e| down(e.without_url().to_string()))?;
        let status = r.status();
        if status.is_server_error() {
            return Err(down(format!("answered {status}")));
        }
        let value = r
            .json::<Value>()
            .await
            .map_err(|e| down(format!("unreadable answer: {}", e.without_url())))?;
        Ok((status, value))
    }

    fn registration(which: &str, v: &Value) -> Result<Option<UnixTime>, RegistryUnavailable> {
        match (v["registered"].as_bool(), v["registered_at"].as_u64()) {
            (Some(true), Some(at)) => Ok(Some(UnixTime::from_secs(at))),
            (Some(false), _) => Ok(None),
            _ => Err(RegistryUnavailable(format!(
                "{which}: an answer of no known shape"
            ))),
        }
    }
}

#[async_trait::async_trait]
impl PointRegistries for RegistryClient {
    async fn health_insurance(
        &self,
        n: IssuanceNumber,
    ) -> Result<Option<UnixTime>, RegistryUnavailable> {
        let (status, v) = self
            .call(
                self.mynaportal.as_ref(),
                "Mynaportal",
                "/v1/health-insurance-inquiries",
                false,
                json!({"issuance_number": n.to_string()}),
            )
            .await?;
        if !status.is_success() {
            return Err(RegistryUnavailable(format!("Mynaportal refused: {status}")));
        }
        Self::registration("Mynaportal", &v)
    }

    async fn public_fund_account(
        &self,
        numbers: &[IssuanceNumber],
    ) -> Result<Option<UnixTime>, RegistryUnavailable> {
        let numbers: Vec<String> = numbers.iter().take(32).map(|n| n.to_string()).collect();
        let (status, v) = self
            .call(
                self.account_registry.as_ref(),
                "the account registry",
                "/v1/registration-inquiries",
                false,
                json!({"issuance_numbers": numbers}),
            )
            .await?;
        if !status.is_success() {
            return Err(RegistryUnavailable(format!(
                "the account registry refused: {status}"
            )));
        }
        Self::registration("the account registry", &v)
    }

    async fn register_public_fund_account(
        &self,
        n: IssuanceNumber,
        account: &PublicFundAccount,
    ) -> Result<Result<UnixTime, String>, RegistryUnavailable> {
        let (status, v) = self
            .call(
                self.account_registry.as_ref(),
                "the account registry",
                &format!("/v1/accounts/{n}"),
                true,
                json!({
                    "bank_code": account.bank_code(),
                    "branch_code": account.branch_code(),
                    "account_type": account.account_type().as_str(),
                    "number": account.number(),
                    "holder": account.holder(),
                }),
            )
            .await?;
        if status.is_client_error() {
            return Ok(Err(v["detail"].as_str().unwrap_or("refused").to_owned()));
        }
        match v["registered_at"].as_u64() {
            Some(at) => Ok(Ok(UnixTime::from_secs(at))),
            None => Err(RegistryUnavailable(
                "the account registry: an answer of no known shape".into(),
            )),
        }
    }
}
