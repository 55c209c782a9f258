//! `card approve`: the phone app's side of a cross-device login (docs/architecture.md §7). Given the
//! approval URL from the QR code, or the short code the browser shows, it shows which relying
//! party asks for what, reads the card — the user-identification key signs the platform's
//! challenge; when facts are asked for, the signature certificate that certifies them is read
//! with the signature password and sent as it is (the platform checks it with J-LIS) — and
//! approves, consenting to exactly the items shown; or declines (and with `--report`, reports
//! the request as not the person's own). Before reading the card it says when and from where
//! the browser began the request; where the browser must prove it is the person's, the
//! approval prints the code to type into it. The PIN and password come from
//! `--pin` / `--sign-password`, the environment (`MYKEY_PIN`, `MYKEY_SIGN_PASSWORD`), or a
//! prompt on the terminal that does not echo.

use std::io::IsTerminal;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use mykey_api::authorizations::{AuthorizationApproval, AuthorizationApproved, AuthorizationShown};
use serde_json::json;
use zeroize::Zeroizing;

use super::{Source, answer, client_error, input};

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    #[command(flatten)]
    source: Source,
    /// The user-identification PIN (else $MYKEY_PIN, else asked on the terminal).
    #[arg(long, env = "MYKEY_PIN", hide_env_values = true)]
    pin: Option<String>,
    /// The signature password, when facts are asked for: the card's signature certificate,
    /// which certifies them, is read with it (else $MYKEY_SIGN_PASSWORD, else asked).
    #[arg(long, env = "MYKEY_SIGN_PASSWORD", hide_env_values = true)]
    sign_password: Option<String>,
    /// The platform's URL: a short code is looked up there, and an approval URL must be on it.
    #[arg(
        long,
        env = "MYKEY_PLATFORM_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    platform: String,
    /// The approval URL (the QR code's) or the short code the browser shows.
    request: String,
    /// Decline instead of approving.
    #[arg(long)]
    decline: bool,
    /// With --decline: report the request as not yours (someone asked you to approve it, or
    /// you did not start it), for the platform's operator.
    #[arg(long, requires = "decline")]
    report: bool,
}

/// A PIN from the flag or environment, else from the terminal without echo.
fn secret(given: Option<&str>, prompt: &str, flag: &str) -> Result<Zeroizing<String>, String> {
    if let Some(v) = given {
        return Ok(Zeroizing::new(v.to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "{flag} is needed (or its environment variable, or a terminal to type it in)"
        ));
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| format!("cannot read {flag}: {e}"))
}

fn request_url(base: &str, request: &str) -> Result<String, String> {
    if request.starts_with("http://") || request.starts_with("https://") {
        if !request.contains("/v1/authorizations/") {
            return Err(format!("{request} is not an approval URL"));
        }
        return answer::on_platform(request, base);
    }
    let code: String = request.chars().filter(|c| !c.is_whitespace()).collect();
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "{request:?} is neither an approval URL nor a short code"
        ));
    }
    Ok(format!(
        "{}/v1/authorizations/{code}",
        base.trim_end_matches('/')
    ))
}

pub(super) async fn approve(a: ApproveArgs) -> Result<(), String> {
    let url = request_url(&a.platform, &a.request)?;
    let http = answer::http()?;
    let shown: AuthorizationShown = answer::fetch(&http, &url).await?;
    let facts = &shown.facts;
    let rp = shown.relying_party.as_ref();
    if shown.purpose == "portal" {
        eprintln!(
            "Your MyKey Platform portal asks you to log in (the browser shows {}).",
            shown.short_code,
        );
    } else {
        let to = match (&shown.ppid_service, &shown.link) {
            (Some(s), _) => s.name.clone(),
            (None, Some(l)) => format!(
                "it by your Service ID, linking its customer number {} with your My Key ID",
                l.customer_id
            ),
            (None, None) => "it by your Service ID".to_owned(),
        };
        eprintln!(
            "{} ({}) asks you to log in to {to} (the browser shows {}).",
            rp.map_or("?", |r| r.name.as_str()),
            rp.map_or("?", |r| r.kind.as_str()),
            shown.short_code,
        );
    }
    if facts.is_empty() {
        eprintln!("It asks for none of your card's facts.");
    } else {
        eprintln!(
            "It asks for these facts from your card: {}.",
            facts.join(", ")
        );
    }
    eprintln!("{}", shown.summary.en);
    if let Some(rp) = rp {
        answer::inquiries(rp);
    }
    let consent = answer::consent(&shown.consent, "By approving you agree that:");
    if a.decline {
        return answer::decline(&http, &url, a.report).await;
    }
    let pin_text = secret(
        a.pin.as_deref(),
        "User-identification PIN (4 digits): ",
        "--pin",
    )?;
    let pin = input::pin("--pin", &pin_text)?;
    let sign_password = if facts.is_empty() {
        None
    } else {
        let t = secret(
            a.sign_password.as_deref(),
            "Signature password (6 to 16 characters): ",
            "--sign-password",
        )?;
        Some(input::sign_password(&t)?)
    };
    let mut signed = answer::sign(&http, &url, &a.source, &pin).await?;
    let signature_certificate = match &sign_password {
        Some(password) => Some(
            B64.encode(
                signed
                    .opened
                    .card
                    .read_signature_certificate(password)
                    .map_err(client_error)?,
            ),
        ),
        None => None,
    };
    let approved: AuthorizationApproved = crate::login::call(
        &http,
        &format!("{url}/approval"),
        &AuthorizationApproval {
            nonce: signed.nonce,
            certificate: B64.encode(&signed.certificate),
            signature: B64.encode(&signed.signature),
            consent,
            signature_certificate,
        },
    )
    .await?;
    let mut out = json!({
        "approved": approved.approved,
        "relying_party": rp.map(|r| &r.name),
        "facts_given": facts,
    });
    if let Some(code) = approved.confirmation_code {
        eprintln!(
            "Type {code} into your own browser, the one in front of you, to finish logging in. Never tell it to anyone."
        );
        out["confirmation_code"] = json!(code);
    }
    println!("{out}");
    Ok(())
}
