//! `mykey client …`: a relying party's own tooling for `private_key_jwt` — an ES256 key pair
//! with its public JWK Set to hand to the operator, and fresh client assertions (RFC 7523) to
//! present at the token endpoint. The private key never leaves the relying party's machine.

use std::path::PathBuf;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use clap::Subcommand;
use serde_json::{Value, json};

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
}

pub(crate) fn run(cmd: ClientCommand) -> Result<(), String> {
    match cmd {
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
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| "cannot generate a key")?;
    let pem = der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, pkcs8.as_ref())
        .map_err(|e| e.to_string())?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .map_err(|_| "cannot read the key just made")?;
    let key_path = out.join("client-key.pem");
    crate::files::write_atomic(&key_path, pem.as_bytes(), 0o600)?;
    let jwks = json!({"keys": [public_jwk(&pair)]});
    let jwks_path = out.join("jwks.json");
    crate::files::write_atomic(&jwks_path, format!("{jwks:#}\n").as_bytes(), 0o644)?;
    crate::say(&format!(
        "private key: {} (keep it)\npublic keys: {} (for the operator)",
        key_path.display(),
        jwks_path.display()
    ));
    Ok(())
}

/// The public JWK of a P-256 key, `kid` its RFC 7638 thumbprint.
fn public_jwk(pair: &EcdsaKeyPair) -> Value {
    let point = pair.public_key().as_ref(); // 0x04 ‖ x ‖ y
    let (x, y) = (B64URL.encode(&point[1..33]), B64URL.encode(&point[33..65]));
    // RFC 7638 §3.2: the required members, in lexicographic order, no white space.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = B64URL.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ));
    json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid, "x": x, "y": y})
}

fn assertion(key: &std::path::Path, client_id: &str, platform: &str) -> Result<String, String> {
    let pem =
        std::fs::read_to_string(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let (label, pkcs8) = der::pem::decode_vec(pem.as_bytes())
        .map_err(|_| format!("{} is not a PEM private key", key.display()))?;
    let pkcs8 = zeroize::Zeroizing::new(pkcs8);
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
        .ok()
        .filter(|_| label == "PRIVATE KEY")
        .ok_or_else(|| format!("{} is not a P-256 private key", key.display()))?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = public_jwk(&pair)["kid"].as_str().map(str::to_owned);
    let now = mykey_pki::UnixTime::now().as_secs();
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).map_err(|_| "no system randomness")?;
    let claims = json!({
        "iss": client_id, "sub": client_id,
        "aud": format!("{platform}/oidc/token"),
        "iat": now, "exp": now + 60, "jti": B64URL.encode(jti),
    });
    let signing = jsonwebtoken::EncodingKey::from_ec_der(&pkcs8);
    jsonwebtoken::encode(&header, &claims, &signing).map_err(|e| e.to_string())
}
