//! The platform's RS256 key (RFC 7518 §3.3), for clients that registered
//! `id_token_signed_response_alg` RS256; ES256 stays the default.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};

use crate::PlatformError;

/// An RSA-2048 signing key. `Debug` hides it.
pub struct RsaSigningKey {
    pair: KeyPair,
    kid: String,
}

impl RsaSigningKey {
    /// From a PKCS#8 RSA private key (DER) of 2048 bits or more.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, PlatformError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|_| {
            PlatformError::Invalid(crate::InvalidError::Jwks(
                "the RSA signing key is not PKCS#8 RSA",
            ))
        })?;
        if pair.public_modulus_len() < 256 {
            return Err(PlatformError::Invalid(crate::InvalidError::Jwks(
                "the RSA signing key is shorter than 2048 bits",
            )));
        }
        let (n, e) = parts(&pair);
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = B64URL.encode(crate::relying_party::sha256(canonical.as_bytes()));
        Ok(Self { pair, kid })
    }

    /// A new RSA-2048 key (PKCS#8 DER), to keep in a file readable by the platform only.
    pub fn generate_pkcs8() -> Vec<u8> {
        // The system RNG failing is not recoverable.
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("system randomness");
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
            .expect("a generated key encodes");
        der.as_ref().to_vec()
    }

    /// The public key as a JWK, `kid` its RFC 7638 thumbprint.
    pub fn public_jwk(&self) -> Value {
        let (n, e) = parts(&self.pair);
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": n, "e": e})
    }

    /// `claims` as a JWT signed RS256 with header `typ`.
    pub fn sign_jwt<T: serde::Serialize + ?Sized>(
        &self,
        typ: &str,
        claims: &T,
    ) -> Result<String, PlatformError> {
        let input = crate::events::jws_signing_input("RS256", typ, &self.kid, claims)?;
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| PlatformError::Internal(crate::Internal("RSA signing failed")))?;
        Ok(crate::events::jws_with_signature(input, &sig))
    }
}

impl std::fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaSigningKey({})", self.kid)
    }
}

fn parts(pair: &KeyPair) -> (String, String) {
    let pk = pair.public_key();
    (
        B64URL.encode(pk.modulus().big_endian_without_leading_zero()),
        B64URL.encode(pk.exponent().big_endian_without_leading_zero()),
    )
}
