//! `mykey client …`: a relying party's own tooling for `private_key_jwt` — an ES256 key pair
//! with its public JWK Set to hand to the operator, and fresh client assertions (RFC 7523) to
//! present at the token endpoint. The private key never leaves the relying party's machine.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use clap::Subcommand;
use mykey_platform::SigningKey;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Make an ES256 key pair: `client-key.pem` (private, mode 0600) and `jwks.json` (public,
    /// for `mykey admin rp set-jwks`), its `kid` the key's RFC 7638 thumbprint.
    Keygen {
        /// The folder to write both files to.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a fresh client assertion (valid for 60 s, a random `jti`), signed with the key.
    Assertion {
        /// The private key from `mykey client keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The relying party's client ID.
        #[arg(long)]
        client_id: String,
        /// The platform (issuer) URL; the audience is its token endpoint.
        #[arg(
            long,
            env = "MYKEY_PLATFORM_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        platform: String,
    },
    /// Play a relying party's web site for one OpenID Connect login: print the authorization
    /// URL, wait for the redirect on `http://127.0.0.1:PORT/callback`, exchange the code,
    /// verify the ID token and print its claims and userinfo's answer.
    Login(crate::client_login::LoginArgs),
}

pub(crate) async fn run(cmd: ClientCommand) -> Result<(), String> {
    match cmd {
        ClientCommand::Login(a) => crate::client_login::login(a).await,
        ClientCommand::Keygen { out } => keygen(&out),
        ClientCommand::Assertion {
            key,
            client_id,
            platform,
        } => {
            crate::say(&assertion(
                &key,
                &client_id,
                platform.trim_end_matches('/'),
            )?);
            Ok(())
        }
    }
}

fn keygen(out: &std::path::Path) -> Result<(), String> {
    let pkcs8 = zeroize::Zeroizing::new(SigningKey::generate_pkcs8());
    let key = SigningKey::from_pkcs8(&pkcs8).map_err(|e| e.to_string())?;
    let pem = der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &pkcs8)
        .map_err(|e| e.to_string())?;
    let key_path = out.join("client-key.pem");
    crate::files::write_atomic(&key_path, pem.as_bytes(), 0o600)?;
    let jwks = json!({"keys": [key.public_jwk()]});
    let jwks_path = out.join("jwks.json");
    crate::files::write_atomic(&jwks_path, format!("{jwks:#}\n").as_bytes(), 0o644)?;
    crate::say(&format!(
        "private key: {} (keep it)\npublic keys: {} (for the operator)",
        key_path.display(),
        jwks_path.display()
    ));
    Ok(())
}

fn assertion(key: &std::path::Path, client_id: &str, platform: &str) -> Result<String, String> {
    let pem =
        std::fs::read_to_string(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let (label, pkcs8) = der::pem::decode_vec(pem.as_bytes())
        .map_err(|_| format!("{} is not a PEM private key", key.display()))?;
    let pkcs8 = zeroize::Zeroizing::new(pkcs8);
    let signing = SigningKey::from_pkcs8(&pkcs8)
        .ok()
        .filter(|_| label == "PRIVATE KEY")
        .ok_or_else(|| format!("{} is not a P-256 private key", key.display()))?;
    let now = mykey_pki::UnixTime::now().as_secs();
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).map_err(|_| "no system randomness")?;
    let claims = json!({
        "iss": client_id, "sub": client_id,
        "aud": format!("{platform}/oidc/token"),
        "iat": now, "exp": now + 60, "jti": B64URL.encode(jti),
    });
    signing.sign_jwt("JWT", &claims).map_err(|e| e.to_string())
}
