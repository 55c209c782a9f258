//! Hostile and mistaken command lines: each fails with a message that says what is wrong, exits
//! non-zero, writes no card file, and never echoes a rejected secret. None of them reaches J-LIS
//! (the URL given is one nothing listens on), so the input is checked first.

use std::path::Path;

use crate::support::{ADDRESS, BIRTH, NAME, NOWHERE, PIN, SIGN_PASSWORD, TICKET_PIN, mykey, s};

/// `card issue` with the standard holder's values, `change` applied to the flag it names.
fn issue_with(out: &Path, change: (&str, &str)) -> crate::support::Run {
    let mut args = vec![
        ("--name", NAME),
        ("--address", ADDRESS),
        ("--birth", BIRTH),
        ("--sex", "2"),
        ("--pin", PIN),
        ("--sign-password", SIGN_PASSWORD),
    ];
    match args.iter_mut().find(|(flag, _)| *flag == change.0) {
        Some(arg) => arg.1 = change.1,
        None => args.push(change),
    }
    let mut all = vec!["card", "issue", "--jlis", NOWHERE, "--out", s(out)];
    all.extend(args.iter().flat_map(|(f, v)| [*f, *v]));
    mykey(&all)
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "files written: {left:?}");
}

#[test]
fn issue_refuses_malformed_values_before_anything_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("card.json");
    for birth in [
        "1985-13-01",
        "1985-02-30",
        "85-06-15",
        "1985/06/15",
        "15 June 1985",
        "",
    ] {
        issue_with(&out, ("--birth", birth)).fails_with("--birth");
    }
    for (flag, value, message) in [
        ("--pin", "12345", "--pin: must be 4 digits"),
        ("--pin", "12a4", "--pin: must be 4 digits"),
        ("--pin", "１２３４", "--pin: must be 4 digits"),
        ("--ticket-pin", "567", "--ticket-pin: must be 4 digits"),
        (
            "--sign-password",
            "abc123",
            "--sign-password: must be digits and upper-case",
        ),
        (
            "--sign-password",
            "AB12",
            "--sign-password: must be 6 to 16 characters",
        ),
        ("--sex", "3", "--sex: 3 is not 1"),
        ("--name", "   ", "name empty"),
        (
            "--address",
            "東京都\n千代田区",
            "address empty, too long or with control",
        ),
    ] {
        let run = issue_with(&out, (flag, value)).fails_with(message);
        if flag.contains("pin") || flag.contains("password") {
            assert!(!run.stderr.contains(value), "secret echoed: {run:#?}");
        }
    }
    // Access key B's parts come together or not at all (clap says so, exit code 2).
    issue_with(&out, ("--expiry-year", "2034")).fails_with("--security-code");
    let mut run = issue_with(&out, ("--security-code", "12"));
    run = run.fails_with("--expiry-year");
    assert_eq!(run.status.code(), Some(2));
    assert_empty(dir.path());
}

#[test]
fn issue_against_an_unreachable_jlis_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sub").join("card.json");
    issue_with(&out, ("--ticket-pin", TICKET_PIN)).fails_with("J-LIS unreachable");
    assert_empty(dir.path());
}

#[test]
fn commands_on_a_missing_card_file_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-card.json");
    let card = s(&missing);
    for args in [
        vec!["card", "show", "--card", card],
        vec!["card", "sign", "--card", card, "--pin", PIN, "challenge"],
        vec!["card", "facts", "--card", card, "--pin", PIN],
        vec!["card", "renew", "--jlis", NOWHERE, "--card", card],
        vec!["card", "insert", card, "--vpcd", "127.0.0.1:9"],
    ] {
        mykey(&args).fails_with("no card file at");
    }
    assert_empty(dir.path());
}

#[test]
fn sign_and_facts_check_their_arguments_before_opening_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let card = dir.path().join("card.json");
    let card = s(&card);
    mykey(&["card", "sign", "--card", card, "--pin", "98765", "x"])
        .fails_with("--pin: must be 4 digits");
    mykey(&[
        "card",
        "sign",
        "--card",
        card,
        "--pin",
        PIN,
        "--data-base64",
        "%%%",
    ])
    .fails_with("--data-base64: not base64");
    // Neither DATA nor --data-base64, or both: clap refuses.
    mykey(&["card", "sign", "--card", card, "--pin", PIN]).fails_with("--data-base64");
    mykey(&[
        "card",
        "sign",
        "--card",
        card,
        "--pin",
        PIN,
        "x",
        "--data-base64",
        "AA==",
    ])
    .fails_with("cannot be used with");
    // Exactly one card: a file or a reader.
    mykey(&["card", "sign", "--pin", PIN, "x"]).fails_with("--card");
    mykey(&[
        "card", "sign", "--card", card, "--reader", "r", "--pin", PIN, "x",
    ])
    .fails_with("cannot be used with");
    // Facts: the PIN or all three parts of access key B.
    mykey(&["card", "facts", "--card", card]).fails_with("--pin");
    mykey(&[
        "card",
        "facts",
        "--card",
        card,
        "--access-key-birth",
        "850615",
    ])
    .fails_with("--expiry-year");
    mykey(&[
        "card",
        "facts",
        "--card",
        card,
        "--access-key-birth",
        "1985-06-15",
        "--expiry-year",
        "2034",
        "--security-code",
        "0815",
    ])
    .fails_with("--access-key-birth: the date of birth must be six digits");
    mykey(&[
        "card",
        "facts",
        "--card",
        card,
        "--access-key-birth",
        "850615",
        "--expiry-year",
        "34",
        "--security-code",
        "0815",
    ])
    .fails_with("--expiry-year");
    assert_empty(dir.path());
}

#[cfg(not(feature = "pcsc"))]
#[test]
fn a_reader_needs_the_pcsc_feature() {
    mykey(&["card", "sign", "--reader", "", "--pin", PIN, "x"])
        .fails_with("cargo build -p mykey --features pcsc");
    mykey(&["card", "facts", "--reader", "Any Reader", "--pin", PIN]).fails_with("--features pcsc");
}
