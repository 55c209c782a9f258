//! The certificate parsers on arbitrary bytes: every profile, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mykey_pki::{CaCertificate, SignatureCertificate, UserIdentificationCertificate};

fuzz_target!(|data: &[u8]| {
    let _ = UserIdentificationCertificate::from_der(data);
    let _ = SignatureCertificate::from_der(data);
    let _ = CaCertificate::from_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CaCertificate::from_pem_chain(text);
    }
});
