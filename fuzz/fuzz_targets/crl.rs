//! The CRL parser and entry stream on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mykey_pki::Crl;

fuzz_target!(|data: &[u8]| {
    if let Ok(crl) = Crl::from_der(data.to_vec()) {
        for entry in crl.entries() {
            if entry.is_err() {
                break;
            }
        }
    }
});
