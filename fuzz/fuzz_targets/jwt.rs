//! The client-assertion splitter the token endpoint runs before any signature check, on
//! arbitrary text (see `mykey_platform::fuzz_split_assertion`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        mykey_platform::fuzz_split_assertion(s);
    }
});
