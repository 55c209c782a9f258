//! The card's BER-TLV codec on arbitrary bytes: every object read writes back to itself, and
//! nothing reads past the input (see `mykey_card::fuzz_tlv`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mykey_card::fuzz_tlv(data);
});
