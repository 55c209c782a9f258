//! OCSP on arbitrary bytes: the responder's request parser and the client's response verifier.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mykey_pki::issue::{SigningKey, ca_certificate};
use mykey_pki::ocsp::Request;
use mykey_pki::{CaCertificate, IssuanceNumber, Purpose, UnixTime};

const NOW: UnixTime = UnixTime::from_secs(1_767_225_600);

fn setup() -> &'static (CaCertificate, Request) {
    static S: OnceLock<(CaCertificate, Request)> = OnceLock::new();
    S.get_or_init(|| {
        let key = SigningKey::generate().expect("key");
        let one = IssuanceNumber::from_u64(1).expect("serial");
        let ca = ca_certificate(&key, Purpose::UserIdentification, one, NOW.minus(86_400), NOW.plus(86_400))
            .expect("CA");
        let req = Request::new(&ca, one).expect("request");
        (ca, req)
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = Request::parse(data);
    let (ca, req) = setup();
    let _ = req.verify_response(data, ca, NOW);
});
