//! `mykey jlis …`: run the J-LIS simulator and drive it from the command line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Subcommand, ValueEnum};
use mykey_jlis::api::{
    ChangeFactsRequest, IssueRequest, IssuedCertificates, RenewRequest, RevokeRequest,
};
use mykey_jlis::{Config, Jlis, SystemClock};
use mykey_jlis_client::JlisClient;
use mykey_pki::Purpose;
use mykey_pki::issue::SigningKey;

use crate::files::write_atomic;

#[derive(Debug, Subcommand)]
pub(crate) enum JlisCommand {
    /// Run the simulator.
    Serve(ServeArgs),
    /// Certify freshly generated keys for a new person; write certificates and keys as PEM.
    Issue(IssueArgs),
    /// Renew a person's certificates (new keys); the old user-identification certificate is revoked.
    Renew(RenewArgs),
    /// Revoke a certificate.
    Revoke(RevokeArgs),
    /// Record a change of the four facts: the signature certificate is revoked and re-issued.
    ChangeFacts(ChangeFactsArgs),
    /// Show a certificate's state, or an issuance number's history and signature-certificate status.
    Status(StatusArgs),
    /// Print a CA's certificates (every generation) as PEM.
    Ca(CaArgs),
    /// Publish complete and delta CRLs now.
    PublishCrls(Target),
    /// Create the next generation of a CA under the same name.
    Rollover(CaArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: String,
    /// Folder for the simulator's store.
    #[arg(long, default_value = "./mykey-data/jlis")]
    data: PathBuf,
    /// URL written into certificates (OCSP, CRL, CA); defaults to http://<listen>.
    #[arg(long)]
    base_url: Option<String>,
    /// Seconds between complete CRLs.
    #[arg(long, default_value_t = 86_400)]
    crl_period: u64,
    /// Seconds between delta CRLs.
    #[arg(long, default_value_t = 900)]
    delta_crl_period: u64,
    /// Seconds an OCSP answer is valid (signed once per window).
    #[arg(long, default_value_t = 3_600)]
    ocsp_validity: u64,
}

#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The J-LIS simulator's URL.
    #[arg(long, env = "MYKEY_JLIS_URL", default_value = "http://127.0.0.1:8081")]
    pub(crate) jlis: String,
}

#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    #[command(flatten)]
    target: Target,
    /// Family and given name (separate them with an ideographic space, U+3000).
    #[arg(long)]
    name: String,
    /// Address from the prefecture on.
    #[arg(long)]
    address: String,
    /// Date of birth, YYYY-MM-DD.
    #[arg(long)]
    birth: String,
    /// ISO 5218: 1 male, 2 female, 9 not applicable.
    #[arg(long)]
    sex: u8,
    /// Folder to write the PEM files to.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RenewArgs {
    #[command(flatten)]
    target: Target,
    /// The user-identification issuance number to renew (hex).
    #[arg(long)]
    issuance_number: String,
    /// Skip the signature certificate (people under 15).
    #[arg(long)]
    no_signature: bool,
    /// Folder to write the PEM files to.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Reason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
}

impl Reason {
    fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::CertificateHold => "certificateHold",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    target: Target,
    /// Serial number of the certificate (hex).
    #[arg(long)]
    serial: String,
    /// Why.
    #[arg(long, value_enum, default_value = "unspecified")]
    reason: Reason,
}

#[derive(Debug, Args)]
pub(crate) struct ChangeFactsArgs {
    #[command(flatten)]
    target: Target,
    /// The person's user-identification issuance number (hex).
    #[arg(long)]
    issuance_number: String,
    /// New name.
    #[arg(long)]
    name: Option<String>,
    /// New address.
    #[arg(long)]
    address: Option<String>,
    /// Corrected date of birth.
    #[arg(long)]
    birth: Option<String>,
    /// New sex code.
    #[arg(long)]
    sex: Option<u8>,
    /// Folder to write the new signature certificate and key to.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    target: Target,
    /// A certificate serial number (hex).
    #[arg(
        long,
        conflicts_with = "issuance_number",
        required_unless_present = "issuance_number"
    )]
    serial: Option<String>,
    /// A user-identification issuance number (hex): its history and signature certificate.
    #[arg(long)]
    issuance_number: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    UserIdentification,
    Signature,
}

impl From<Kind> for Purpose {
    fn from(k: Kind) -> Self {
        match k {
            Kind::UserIdentification => Purpose::UserIdentification,
            Kind::Signature => Purpose::Signature,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct CaArgs {
    #[command(flatten)]
    target: Target,
    /// Which CA.
    #[arg(long, value_enum)]
    kind: Kind,
}

pub(crate) fn client(t: &Target) -> Result<JlisClient, String> {
    JlisClient::new(&t.jlis, Duration::from_secs(30)).map_err(|e| e.to_string())
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub(crate) async fn run(cmd: JlisCommand) -> Result<(), String> {
    match cmd {
        JlisCommand::Serve(a) => serve(a).await,
        JlisCommand::Issue(a) => {
            let (ui, sig) = (key()?, key()?);
            let req = IssueRequest {
                name: a.name,
                address: a.address,
                birth_date: a.birth,
                sex: a.sex,
                user_identification_public_key: B64.encode(ui.spki_der()),
                signature_public_key: Some(B64.encode(sig.spki_der())),
            };
            let issued = match client(&a.target)?.issue(&req).await {
                Err(mykey_jlis_client::ClientError::Refused { problem })
                    if problem.kind.ends_with(":under-fifteen") =>
                {
                    let req = IssueRequest {
                        signature_public_key: None,
                        ..req
                    };
                    client(&a.target)?
                        .issue(&req)
                        .await
                        .map_err(|e| e.to_string())?
                }
                r => r.map_err(|e| e.to_string())?,
            };
            write_issued(&a.out, &issued, Some(&ui), Some(&sig))?;
            println!("{}", issued.issuance_number);
            Ok(())
        }
        JlisCommand::Renew(a) => {
            let (ui, sig) = (key()?, (!a.no_signature).then(key).transpose()?);
            let req = RenewRequest {
                issuance_number: a.issuance_number,
                user_identification_public_key: B64.encode(ui.spki_der()),
                signature_public_key: sig.as_ref().map(|s| B64.encode(s.spki_der())),
            };
            let issued = client(&a.target)?
                .renew(&req)
                .await
                .map_err(|e| e.to_string())?;
            write_issued(&a.out, &issued, Some(&ui), sig.as_ref())?;
            println!("{}", issued.issuance_number);
            Ok(())
        }
        JlisCommand::Revoke(a) => {
            let req = RevokeRequest {
                serial: a.serial,
                reason: a.reason.name().to_owned(),
            };
            let state = client(&a.target)?
                .revoke(&req)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", json(&state));
            Ok(())
        }
        JlisCommand::ChangeFacts(a) => {
            let sig = key()?;
            let req = ChangeFactsRequest {
                issuance_number: a.issuance_number,
                name: a.name,
                address: a.address,
                birth_date: a.birth,
                sex: a.sex,
                signature_public_key: B64.encode(sig.spki_der()),
            };
            let issued = client(&a.target)?
                .change_facts(&req)
                .await
                .map_err(|e| e.to_string())?;
            write_issued(&a.out, &issued, None, Some(&sig))?;
            println!("{}", issued.issuance_number);
            Ok(())
        }
        JlisCommand::Status(a) => {
            let c = client(&a.target)?;
            let out = match (a.serial, a.issuance_number) {
                (Some(s), _) => json(&c.certificate(&s).await.map_err(|e| e.to_string())?),
                (None, Some(n)) => {
                    let cert = c.certificate(&n).await.map_err(|e| e.to_string())?;
                    let previous = c
                        .previous_issuance_numbers(&n)
                        .await
                        .map_err(|e| e.to_string())?;
                    let sig = c
                        .signature_certificate_status(&n)
                        .await
                        .map_err(|e| e.to_string())?;
                    json(&serde_json::json!({
                        "certificate": cert,
                        "previous": previous.previous,
                        "signature_certificate": sig,
                    }))
                }
                (None, None) => return Err("give --serial or --issuance-number".into()),
            };
            println!("{out}");
            Ok(())
        }
        JlisCommand::Ca(a) => {
            let cas = client(&a.target)?
                .ca_certificates(a.kind.into())
                .await
                .map_err(|e| e.to_string())?;
            for ca in cas {
                print!("{}", ca.to_pem());
            }
            Ok(())
        }
        JlisCommand::PublishCrls(t) => {
            let p = client(&t)?
                .publish_crls()
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", p.message);
            Ok(())
        }
        JlisCommand::Rollover(a) => {
            let url = format!(
                "{}/v1/admin/cas/{}/rollover",
                a.target.jlis.trim_end_matches('/'),
                Purpose::from(a.kind).slug()
            );
            let resp = reqwest::Client::new()
                .post(&url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            let body = resp.text().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("J-LIS answered {status}: {body}"));
            }
            println!("{body}");
            Ok(())
        }
    }
}

async fn serve(a: ServeArgs) -> Result<(), String> {
    crate::files::private_folder(&a.data)?;
    let _held = crate::files::lock_folder(&a.data, "J-LIS simulator")?;
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (--listen picks another address)",
                a.listen
            )
        })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = a.base_url.unwrap_or_else(|| format!("http://{addr}"));
    let mut config = Config::new(&a.data, &base_url);
    config.crl_period = a.crl_period.max(1);
    config.delta_crl_period = a.delta_crl_period.max(1);
    config.ocsp_validity = a.ocsp_validity.max(1);
    let jlis = Jlis::open(config, Arc::new(SystemClock))
        .await
        .map_err(|e| e.to_string())?;
    // Where everything is; a closed stdout must not stop the server, so write errors are ignored.
    let _ = writeln!(
        std::io::stdout(),
        "J-LIS simulator listening on http://{addr}\n  data:  {}\n  CAs:   {base_url}/ca/user-identification.pem, {base_url}/ca/signature.pem\n  OCSP:  {base_url}/ocsp/user-identification, {base_url}/ocsp/signature\n  CRLs:  {base_url}/crl/user-identification-g1.crl (and -delta.crl)\n  API:   {base_url}/v1/openapi.json",
        a.data.display()
    );
    let _ = std::io::stdout().flush();
    mykey_jlis::serve(jlis, listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

fn key() -> Result<SigningKey, String> {
    SigningKey::generate().map_err(|e| e.to_string())
}

fn write_issued(
    out: &std::path::Path,
    issued: &IssuedCertificates,
    ui: Option<&SigningKey>,
    sig: Option<&SigningKey>,
) -> Result<(), String> {
    let pem = |label: &str, b64: &str| -> Result<String, String> {
        let der = B64
            .decode(b64)
            .map_err(|e| format!("J-LIS sent bad base64: {e}"))?;
        Ok(mykey_pki::to_pem(label, &der))
    };
    let key_pem = |k: &SigningKey| -> Result<String, String> {
        Ok(mykey_pki::to_pem(
            "PRIVATE KEY",
            &k.to_pkcs8().map_err(|e| e.to_string())?,
        ))
    };
    if let (Some(cert), Some(k)) = (&issued.user_identification_certificate, ui) {
        write_atomic(
            &out.join("user-identification.pem"),
            pem("CERTIFICATE", cert)?.as_bytes(),
            0o644,
        )?;
        write_atomic(
            &out.join("user-identification.key"),
            key_pem(k)?.as_bytes(),
            0o600,
        )?;
    }
    if let (Some(cert), Some(k)) = (&issued.signature_certificate, sig) {
        write_atomic(
            &out.join("signature.pem"),
            pem("CERTIFICATE", cert)?.as_bytes(),
            0o644,
        )?;
        write_atomic(&out.join("signature.key"), key_pem(k)?.as_bytes(), 0o600)?;
    }
    write_atomic(
        &out.join("ca-user-identification.pem"),
        pem("CERTIFICATE", &issued.user_identification_ca)?.as_bytes(),
        0o644,
    )?;
    write_atomic(
        &out.join("ca-signature.pem"),
        pem("CERTIFICATE", &issued.signature_ca)?.as_bytes(),
        0o644,
    )?;
    Ok(())
}
