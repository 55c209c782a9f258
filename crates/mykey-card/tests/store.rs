//! Card files: round trip, permissions, and a lock-out that survives restarts.

use mykey_card::{
    CardFile, CardFileError, ClientError, CredentialId, JpkiCard, MemoryTransport, Pin,
    TransportError, VirtualCard,
};

use crate::fixtures::{self, FreshCard};

#[test]
fn a_card_file_round_trips_and_is_private() {
    let fresh = FreshCard::new();
    let card = fresh.load();
    let again = CardFile::new(fresh.dir.path().join("copy.json"));
    again.save(&card).unwrap();
    let copy = again.load().unwrap();
    assert_eq!(copy.public_keys(), card.public_keys());
    assert_eq!(copy.certificates(), card.certificates());
    assert_eq!(copy.facts(), card.facts());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(again.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Nothing left behind by the atomic write.
    let names: Vec<_> = std::fs::read_dir(fresh.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_lock_out_stays_locked_across_restarts() {
    let fresh = FreshCard::new();
    let wrong = Pin::new("9999").unwrap();
    for expected in [2, 1] {
        let mut card = JpkiCard::new(MemoryTransport::with_store(
            fresh.load(),
            fresh.file.clone(),
        ));
        assert!(
            matches!(card.verify_pin(&wrong), Err(ClientError::WrongPin { tries_left, .. }) if tries_left == expected)
        );
    }
    let mut card = JpkiCard::new(MemoryTransport::with_store(
        fresh.load(),
        fresh.file.clone(),
    ));
    assert!(matches!(
        card.verify_pin(&wrong),
        Err(ClientError::Blocked { .. })
    ));
    let card = fresh.load();
    assert!(card.summary().ui_pin.is_blocked());
    let mut card = JpkiCard::new(MemoryTransport::with_store(card, fresh.file.clone()));
    assert!(matches!(
        card.verify_pin(&Pin::new(fixtures::UI_PIN).unwrap()),
        Err(ClientError::Blocked { .. })
    ));
    assert_eq!(card.tries_left(CredentialId::UiPin).unwrap(), 0);
}

#[test]
fn a_reset_counter_is_saved_too() {
    let fresh = FreshCard::new();
    let mut card = JpkiCard::new(MemoryTransport::with_store(
        fresh.load(),
        fresh.file.clone(),
    ));
    let _ = card.verify_pin(&Pin::new("9999").unwrap());
    assert_eq!(fresh.load().summary().ui_pin.left, 2);
    card.verify_pin(&Pin::new(fixtures::UI_PIN).unwrap())
        .unwrap();
    assert_eq!(fresh.load().summary().ui_pin.left, 3);
}

#[test]
fn an_unsaved_count_withholds_the_answer() {
    let fresh = FreshCard::new();
    let failing = |_: &VirtualCard| Err(CardFileError::Store("disk full".into()));
    let mut card = JpkiCard::new(MemoryTransport::with_store(fresh.load(), failing));
    assert!(matches!(
        card.verify_pin(&Pin::new("9999").unwrap()),
        Err(ClientError::Transport(TransportError::Store(_)))
    ));
    // Reads that change nothing still work.
    assert_eq!(card.tries_left(CredentialId::UiPin).unwrap(), 2);
}

#[test]
fn broken_card_files_are_errors() {
    let fresh = FreshCard::new();
    let path = fresh.file.path().to_owned();
    assert!(matches!(
        CardFile::new(fresh.dir.path().join("absent.json")).load(),
        Err(CardFileError::Io { .. })
    ));
    std::fs::write(&path, b"{").unwrap();
    assert!(matches!(fresh.file.load(), Err(CardFileError::Json { .. })));
    let good = std::fs::read_to_string(FreshCard::new().file.path()).unwrap();
    for (from, to) in [
        ("\"mykey-card/1\"", "\"mykey-card/9\""),
        (&format!("\"{}\"", fixtures::UI_PIN), "\"12345\""),
        ("\"tries_left\": 3", "\"tries_left\": 300"),
    ] {
        assert!(good.contains(from), "{from}");
        std::fs::write(&path, good.replacen(from, to, 1)).unwrap();
        assert!(fresh.file.load().is_err(), "{from} → {to}");
    }
    // Stored tries above the maximum would be an error of the JSON shape (u8) or clamped; a
    // malformed key is an Invalid field.
    let broken_key = good.replacen(
        "\"user_identification_key\": \"",
        "\"user_identification_key\": \"AAAA",
        1,
    );
    std::fs::write(&path, broken_key).unwrap();
    assert!(matches!(
        fresh.file.load(),
        Err(CardFileError::Invalid { .. })
    ));
}

#[test]
fn one_user_of_a_card_file_at_a_time() {
    let fresh = FreshCard::new();
    let held = fresh.file.try_lock().unwrap();
    assert!(matches!(
        fresh.file.try_lock(),
        Err(CardFileError::InUse { .. })
    ));
    drop(held);
    fresh.file.try_lock().unwrap();
}
