//! SELECT (ISO/IEC 7816-4 §11.1.1) and READ BINARY (§11.2.3).

use super::*;

#[test]
fn applications_present_and_absent() {
    let mut c = card();
    assert_eq!(
        c.atr(),
        [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14]
    );
    assert_eq!(sw(&mut c, SELECT_JPKI), StatusWord::Ok);
    assert_eq!(sw(&mut c, SELECT_TICKET), StatusWord::Ok);
    for absent in [CONFIRMATION_AID, RESIDENT_REGISTRY_AID] {
        assert_eq!(
            sw(&mut c, &format!("00A4040C0A{}", hex::encode(absent))),
            StatusWord::NotFound
        );
        assert_eq!(
            sw(&mut c, &format!("00A404000A{}", hex::encode(absent))),
            StatusWord::NotFound
        );
    }
    // Other drivers' probes: PIV, OpenPGP, a truncated JPKI AID.
    assert_eq!(
        sw(&mut c, "00A4040009A00000030800001000"),
        StatusWord::NotFound
    );
    assert_eq!(sw(&mut c, "00A4040006D27600012401"), StatusWord::NotFound);
    assert_eq!(sw(&mut c, "00A4040C05D392F00026"), StatusWord::NotFound);
    assert_eq!(
        sw(&mut c, "00A404000AD392F000260100000001"),
        StatusWord::IncorrectP1P2
    );
    assert_eq!(sw(&mut c, "00A4000C023F00"), StatusWord::IncorrectP1P2);
    assert_eq!(sw(&mut c, "00A4040C"), StatusWord::WrongLength);
    assert_eq!(
        sw(&mut c, &format!("00A4040C11{}", "00".repeat(17))),
        StatusWord::WrongLength
    );
}

#[test]
fn files_are_selected_within_their_application() {
    let mut c = card();
    assert_eq!(
        sw(&mut c, "00A4020C02000A"),
        StatusWord::NotFound,
        "no application selected yet"
    );
    assert_eq!(sw(&mut c, SELECT_JPKI), StatusWord::Ok);
    for fid in [
        "0006", "000A", "000B", "0001", "0002", "0017", "0018", "001A", "001B",
    ] {
        assert_eq!(
            sw(&mut c, &format!("00A4020C02{fid}")),
            StatusWord::Ok,
            "{fid}"
        );
    }
    for fid in ["0011", "0003", "3F00", "FFFF"] {
        assert_eq!(
            sw(&mut c, &format!("00A4020C02{fid}")),
            StatusWord::NotFound,
            "{fid}"
        );
    }
    assert_eq!(
        sw(&mut c, "00A4020C03000A00"),
        StatusWord::NcInconsistentWithP1P2
    );
    assert_eq!(sw(&mut c, "00A4020002000A"), StatusWord::IncorrectP1P2);
    assert_eq!(sw(&mut c, SELECT_TICKET), StatusWord::Ok);
    for fid in ["0011", "0014", "0015", "0001", "0002"] {
        assert_eq!(
            sw(&mut c, &format!("00A4020C02{fid}")),
            StatusWord::Ok,
            "{fid}"
        );
    }
    assert_eq!(sw(&mut c, "00A4020C02000A"), StatusWord::NotFound);
}

#[test]
fn read_binary_offsets_and_end_of_file() {
    let mut c = card();
    assert_eq!(sw(&mut c, "00B0000004"), StatusWord::NoCurrentEf);
    sw(&mut c, SELECT_JPKI);
    assert_eq!(sw(&mut c, "00B0000004"), StatusWord::NoCurrentEf);
    sw(&mut c, "00A4020C020006");
    let (label, s) = run(&mut c, "00B0000020");
    assert_eq!(
        (label.as_slice(), s),
        (&b"JPKIAPICCTOKEN2                 "[..], StatusWord::Ok)
    );
    assert_eq!(
        run(&mut c, "00B0000000"),
        (label.clone(), StatusWord::EndOfFile)
    );
    assert_eq!(
        run(&mut c, "00B0000A04"),
        (b"OKEN".to_vec(), StatusWord::Ok)
    );
    assert_eq!(
        run(&mut c, "00B0001F05"),
        (b" ".to_vec(), StatusWord::EndOfFile)
    );
    assert_eq!(sw(&mut c, "00B0002001"), StatusWord::WrongP1P2);
    assert_eq!(sw(&mut c, "00B0FFFF01"), StatusWord::WrongP1P2);
    assert_eq!(sw(&mut c, "00B00000"), StatusWord::WrongLength, "no Le");
    assert_eq!(
        sw(&mut c, "00B000000100"),
        StatusWord::WrongLength,
        "command data"
    );
    assert_eq!(
        sw(&mut c, "00B00000000101"),
        StatusWord::WrongLength,
        "Ne 257"
    );
    assert_eq!(
        run(&mut c, "00B00000000100").1,
        StatusWord::EndOfFile,
        "extended Ne 256 is fine"
    );
    sw(&mut c, "00A4020C020018");
    assert_eq!(
        sw(&mut c, "00B0000004"),
        StatusWord::IncompatibleFileStructure
    );
    sw(&mut c, "00A4020C020017");
    assert_eq!(
        sw(&mut c, "00B0000004"),
        StatusWord::IncompatibleFileStructure
    );
}

#[test]
fn certificates_read_back_exactly_and_the_signature_one_needs_its_password() {
    let mut c = card();
    let certs = c.certificates().unwrap().clone();
    sw(&mut c, SELECT_JPKI);
    for (fid, der) in [
        ("000A", &certs.user_identification),
        ("000B", &certs.user_identification_ca),
        ("0002", &certs.signature_ca),
    ] {
        assert_eq!(sw(&mut c, &format!("00A4020C02{fid}")), StatusWord::Ok);
        let (header, _) = run(&mut c, "00B0000004");
        assert_eq!(header[..2], [0x30, 0x82]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]])) + 4;
        assert_eq!(&read_file(&mut c, len), der, "{fid}");
    }
    sw(&mut c, "00A4020C020001");
    assert_eq!(
        sw(&mut c, "00B0000004"),
        StatusWord::SecurityStatusNotSatisfied
    );
    sw(&mut c, "00A4020C020018");
    assert_eq!(sw(&mut c, VERIFY_1234), StatusWord::Ok);
    sw(&mut c, "00A4020C020001");
    assert_eq!(
        sw(&mut c, "00B0000004"),
        StatusWord::SecurityStatusNotSatisfied,
        "UI PIN does not open it"
    );
    sw(&mut c, "00A4020C02001B");
    assert_eq!(sw(&mut c, &verify_hex("ABC123")), StatusWord::Ok);
    sw(&mut c, "00A4020C020001");
    assert_eq!(read_file(&mut c, certs.signature.len()), certs.signature);
}
