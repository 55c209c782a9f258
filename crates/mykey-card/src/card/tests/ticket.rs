//! The ticket-item entry support AP, and what the card answers to commands it lacks.

use super::*;

#[test]
fn ticket_item_ap_by_pin_and_by_access_keys() {
    let mut c = card();
    let facts_len = c.facts_file.len();
    sw(&mut c, SELECT_TICKET);
    sw(&mut c, "00A4020C020002");
    assert_eq!(
        sw(&mut c, "00B0000004"),
        StatusWord::SecurityStatusNotSatisfied
    );
    sw(&mut c, "00A4020C020011");
    assert_eq!(
        sw(&mut c, "00200080"),
        StatusWord::VerificationFailed { tries_left: 3 }
    );
    assert_eq!(
        sw(&mut c, VERIFY_1234),
        StatusWord::VerificationFailed { tries_left: 2 },
        "ticket PIN differs"
    );
    assert_eq!(sw(&mut c, &verify_hex("5678")), StatusWord::Ok);
    sw(&mut c, "00A4020C020002");
    assert_eq!(
        TicketFacts::from_tlv(&read_file(&mut c, facts_len)).unwrap(),
        facts()
    );
    sw(&mut c, "00A4020C020001");
    let (number, s) = run(&mut c, "00B0000000");
    assert_eq!(
        (number, s),
        (b"\xDF\x10\x0C123456789018".to_vec(), StatusWord::EndOfFile)
    );

    // Key B: birth YYMMDD, expiry year, security code. It opens the facts, not the number.
    sw(&mut c, SELECT_TICKET);
    sw(&mut c, "00A4020C020015");
    assert_eq!(
        sw(&mut c, "00200080"),
        StatusWord::VerificationFailed { tries_left: 10 }
    );
    assert_eq!(
        sw(&mut c, &verify_hex("85061520340816")),
        StatusWord::VerificationFailed { tries_left: 9 }
    );
    assert_eq!(
        sw(&mut c, &verify_hex("8506152034081")),
        StatusWord::IncorrectData
    );
    assert_eq!(sw(&mut c, &verify_hex("85061520340815")), StatusWord::Ok);
    sw(&mut c, "00A4020C020002");
    assert_eq!(read_file(&mut c, facts_len), c.facts_file);
    sw(&mut c, "00A4020C020001");
    assert_eq!(
        sw(&mut c, "00B0000000"),
        StatusWord::SecurityStatusNotSatisfied
    );

    // Key A: the My Number itself.
    sw(&mut c, SELECT_TICKET);
    sw(&mut c, "00A4020C020014");
    assert_eq!(
        sw(&mut c, &verify_hex("123456789019")),
        StatusWord::IncorrectData,
        "check digit"
    );
    assert_eq!(
        sw(&mut c, &verify_hex("000000000000")),
        StatusWord::VerificationFailed { tries_left: 9 }
    );
    assert_eq!(sw(&mut c, &verify_hex("123456789018")), StatusWord::Ok);
    sw(&mut c, "00A4020C020001");
    assert_eq!(run(&mut c, "00B000000F").1, StatusWord::Ok);
}

#[test]
fn a_card_without_my_number_or_face_lacks_those_files() {
    let mut s = secrets();
    s.my_number = None;
    s.face = None;
    s.ticket_pin = None;
    let mut c = VirtualCard::generate(s).unwrap();
    assert_eq!(sw(&mut c, SELECT_JPKI), StatusWord::Ok);
    assert_eq!(
        sw(&mut c, "00A4020C02000A"),
        StatusWord::NotFound,
        "not certified yet"
    );
    assert_eq!(sw(&mut c, SELECT_TICKET), StatusWord::Ok);
    for fid in ["0001", "0014", "0015"] {
        assert_eq!(
            sw(&mut c, &format!("00A4020C02{fid}")),
            StatusWord::NotFound,
            "{fid}"
        );
    }
    sw(&mut c, "00A4020C020011");
    assert_eq!(
        sw(&mut c, VERIFY_1234),
        StatusWord::Ok,
        "ticket PIN defaults to the UI PIN"
    );
    assert!(c.summary().access_key_a.is_none() && c.summary().awaiting_certificates);
}

#[test]
fn classes_instructions_and_malformed_apdus() {
    let mut c = card();
    assert_eq!(sw(&mut c, "00CA010000"), StatusWord::InsNotSupported);
    assert_eq!(sw(&mut c, "00C0000000"), StatusWord::InsNotSupported);
    assert_eq!(
        sw(&mut c, "80A4040C0AD392F000260100000001"),
        StatusWord::InsNotSupported
    );
    assert_eq!(sw(&mut c, "002A9E9A00"), StatusWord::InsNotSupported);
    assert_eq!(sw(&mut c, "A0A40000023F00"), StatusWord::ClaNotSupported);
    assert_eq!(sw(&mut c, "FFCA000000"), StatusWord::ClaNotSupported);
    assert_eq!(
        sw(&mut c, "0CA4040C0AD392F000260100000001"),
        StatusWord::ClaNotSupported
    );
    for bad in [
        "",
        "00",
        "00A404",
        "00A4040C05D392",
        "00A4040C02D3",
        "00B000000001",
    ] {
        let r = c.transmit(&hex::decode(bad).unwrap());
        assert_eq!(r, [0x67, 0x00], "{bad}");
    }
}

#[test]
fn jlis_signature_over_the_facts_opens_with_them_and_keeps_the_number_digest_on_the_card() {
    let mut c = card();
    let jlis = mykey_pki::issue::SigningKey::generate().unwrap();
    sw(&mut c, SELECT_TICKET);
    assert_eq!(sw(&mut c, "00A4020C020003"), StatusWord::NotFound);
    let other = TicketFacts::new(
        "別人",
        "東京都",
        time::macros::date!(1990 - 01 - 01),
        mykey_pki::Sex::Male,
    )
    .unwrap();
    assert!(matches!(
        c.install_ticket_signature(mykey_pki::ticket::TicketSignature::sign(
            &jlis,
            &other.to_tlv(),
            [1; 16]
        )),
        Err(CardError::TicketSignatureMismatch)
    ));
    assert!(c.ticket_signature().is_none(), "a refused one is not kept");
    let signed = mykey_pki::ticket::TicketSignature::sign(&jlis, &c.facts_file, [2; 16]);
    c.install_ticket_signature(signed.clone()).unwrap();

    sw(&mut c, SELECT_TICKET);
    sw(&mut c, "00A4020C020003");
    assert_eq!(
        sw(&mut c, "00B0000004"),
        StatusWord::SecurityStatusNotSatisfied
    );
    sw(&mut c, "00A4020C020015");
    assert_eq!(sw(&mut c, &verify_hex("85061520340815")), StatusWord::Ok);
    sw(&mut c, "00A4020C020003");
    let number_file = b"\xDF\x10\x0C123456789018";
    let number_digest = mykey_pki::ticket::facts_digest(number_file);
    let file = read_file(&mut c, signed.to_file(Some(&number_digest)).len());
    // FF 30 { DF 31 the number's digest, DF 32 the facts digest, DF 33 the signature }.
    assert_eq!(&file[..2], &[0xFF, 0x30]);
    assert!(file.windows(32).any(|w| w == number_digest));
    let read = mykey_pki::ticket::TicketSignature::from_file(&file).unwrap();
    assert_eq!(read, signed);
    read.verify(jlis.public_key()).unwrap();

    // It survives the card file, and a stored one over other facts does not load.
    let model = c.to_model().unwrap();
    let back = VirtualCard::from_model(&model).unwrap();
    assert_eq!(back.ticket_signature(), Some(&signed));
}

#[test]
fn the_client_reads_the_facts_file_and_its_signature_with_key_b() {
    let mut c = card();
    let jlis = mykey_pki::issue::SigningKey::generate().unwrap();
    let signed = mykey_pki::ticket::TicketSignature::sign(&jlis, &c.facts_file, [2; 16]);
    c.install_ticket_signature(signed.clone()).unwrap();
    let expected_file = c.facts_file.clone();
    let mut client = crate::JpkiCard::new(crate::MemoryTransport::new(c));
    let key = crate::AccessKey::b(
        facts().birth_date(),
        2034,
        &crate::SecurityCode::new("0815").unwrap(),
    )
    .unwrap();
    let (file, sig) = client
        .read_ticket_items(crate::FactsAccess::AccessKey(&key))
        .unwrap();
    assert_eq!(file, expected_file);
    assert_eq!(sig, signed);
}
