//! VERIFY (ISO/IEC 7816-4 §11.5.6), retry counters and the security state.

use super::*;
use crate::digest_info;

#[test]
fn pin_counts_down_blocks_and_stays_blocked() {
    let mut c = card();
    sw(&mut c, SELECT_JPKI);
    sw(&mut c, "00A4020C020018");
    assert_eq!(
        sw(&mut c, "00200080"),
        StatusWord::VerificationFailed { tries_left: 3 }
    );
    assert!(!c.take_state_changed());
    assert_eq!(
        sw(&mut c, &verify_hex("0000")),
        StatusWord::VerificationFailed { tries_left: 2 }
    );
    assert!(c.take_state_changed());
    assert_eq!(
        sw(&mut c, "00200080"),
        StatusWord::VerificationFailed { tries_left: 2 }
    );
    assert_eq!(sw(&mut c, VERIFY_1234), StatusWord::Ok);
    assert!(c.take_state_changed(), "the reset counter must be saved");
    assert_eq!(sw(&mut c, VERIFY_1234), StatusWord::Ok);
    assert!(!c.take_state_changed());
    assert_eq!(
        sw(&mut c, &verify_hex("1111")),
        StatusWord::VerificationFailed { tries_left: 2 }
    );
    assert_eq!(
        sw(&mut c, &verify_hex("2222")),
        StatusWord::VerificationFailed { tries_left: 1 }
    );
    assert_eq!(
        sw(&mut c, &verify_hex("3333")),
        StatusWord::VerificationFailed { tries_left: 0 }
    );
    assert_eq!(
        sw(&mut c, "00200080"),
        StatusWord::VerificationFailed { tries_left: 0 }
    );
    assert_eq!(sw(&mut c, VERIFY_1234), StatusWord::AuthenticationBlocked);
    c.reset();
    sw(&mut c, SELECT_JPKI);
    sw(&mut c, "00A4020C020018");
    assert_eq!(sw(&mut c, VERIFY_1234), StatusWord::AuthenticationBlocked);
    sw(&mut c, "00A4020C020017");
    assert_eq!(
        sw(&mut c, &sign_hex(&digest_info::sha256_of(b"x"))),
        StatusWord::SecurityStatusNotSatisfied
    );
    assert_eq!(c.summary().ui_pin, RetryCount { left: 0, max: 3 });
    // The other credentials are untouched.
    sw(&mut c, "00A4020C02001B");
    assert_eq!(
        sw(&mut c, "00200080"),
        StatusWord::VerificationFailed { tries_left: 5 }
    );
}

#[test]
fn malformed_pins_use_no_try() {
    let mut c = card();
    sw(&mut c, SELECT_JPKI);
    sw(&mut c, "00A4020C020018");
    for bad in ["123", "12345", "12a4"] {
        assert_eq!(
            sw(&mut c, &verify_hex(bad)),
            StatusWord::IncorrectData,
            "{bad}"
        );
    }
    sw(&mut c, "00A4020C02001B");
    for bad in ["abc123", "ABC12", "ABCDEFGHIJKLMNOPQ"] {
        assert_eq!(
            sw(&mut c, &verify_hex(bad)),
            StatusWord::IncorrectData,
            "{bad}"
        );
    }
    assert_eq!(
        sw(&mut c, &verify_hex("ABC124")),
        StatusWord::VerificationFailed { tries_left: 4 }
    );
    assert_eq!(c.summary().ui_pin.left, 3);
}

#[test]
fn verify_needs_a_pin_file() {
    let mut c = card();
    assert_eq!(sw(&mut c, VERIFY_1234), StatusWord::NoCurrentEf);
    sw(&mut c, SELECT_JPKI);
    assert_eq!(sw(&mut c, VERIFY_1234), StatusWord::NoCurrentEf);
    sw(&mut c, "00A4020C02000A");
    assert_eq!(
        sw(&mut c, VERIFY_1234),
        StatusWord::IncompatibleFileStructure
    );
    sw(&mut c, "00A4020C020018");
    assert_eq!(sw(&mut c, "0020008104 31323334"), StatusWord::IncorrectP1P2);
    assert_eq!(sw(&mut c, "0020008004 313233"), StatusWord::WrongLength);
}

#[test]
fn security_state_ends_with_reselection_and_reset() {
    let mut c = card();
    let di = sign_hex(&digest_info::sha256_of(b"x"));
    let login = |c: &mut VirtualCard| {
        sw(c, SELECT_JPKI);
        sw(c, "00A4020C020018");
        assert_eq!(sw(c, VERIFY_1234), StatusWord::Ok);
        sw(c, "00A4020C020017");
    };
    login(&mut c);
    assert_eq!(sw(&mut c, &di), StatusWord::Ok);
    sw(&mut c, SELECT_JPKI);
    assert_eq!(sw(&mut c, &di), StatusWord::NoCurrentEf);
    sw(&mut c, "00A4020C020017");
    assert_eq!(sw(&mut c, &di), StatusWord::SecurityStatusNotSatisfied);
    login(&mut c);
    c.reset();
    assert_eq!(sw(&mut c, &di), StatusWord::NoCurrentEf);
    login(&mut c);
    sw(&mut c, SELECT_TICKET);
    sw(&mut c, SELECT_JPKI);
    sw(&mut c, "00A4020C020017");
    assert_eq!(sw(&mut c, &di), StatusWord::SecurityStatusNotSatisfied);
    // A wrong try clears the verified state.
    login(&mut c);
    sw(&mut c, "00A4020C020018");
    sw(&mut c, &verify_hex("9999"));
    sw(&mut c, "00A4020C020017");
    assert_eq!(sw(&mut c, &di), StatusWord::SecurityStatusNotSatisfied);
}
