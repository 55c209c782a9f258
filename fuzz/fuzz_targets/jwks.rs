//! A relying party's JWK Set, as registered, on arbitrary text: a set that is accepted writes
//! out to one that is accepted again and is the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mykey_platform::ClientJwks;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(set) = ClientJwks::parse(s) {
        let json = set.to_json();
        let again = ClientJwks::parse(&json).expect("a written set parses");
        assert_eq!(again.to_json(), json);
    }
});
