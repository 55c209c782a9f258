//! `mykey admin rp …` against `mykey serve`: the operator token it wrote, relying parties
//! registered, approved, listed, suspended and re-keyed.

use crate::support::{Serve, mykey, s};

#[test]
fn the_operator_registers_approves_and_suspends_a_relying_party() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let token = data.path().join("operator-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&token).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        mykey(&all)
    };
    let out = admin(&[
        "register",
        "--name",
        "デジタル市役所",
        "--kind",
        "public-authority",
    ])
    .ok();
    let rp: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rp["status"], "pending");
    let id = rp["id"].to_string();
    let secret = rp["client_secret"].as_str().unwrap().to_owned();
    admin(&["approve", &id]).ok();
    let list = admin(&["list"]).ok().stdout;
    assert!(
        list.contains("approved") && list.contains("デジタル市役所"),
        "{list}"
    );
    assert!(
        !list.contains(&secret),
        "a listed relying party shows no secret"
    );
    let rotated: serde_json::Value =
        serde_json::from_str(&admin(&["rotate-secret", &id]).ok().stdout).unwrap();
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
    admin(&["suspend", &id]).ok();
    // A wrong token is refused.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("operator-token"),
        "not-the-token-not-the-token",
    )
    .unwrap();
    mykey(&[
        "admin",
        "rp",
        "list",
        "--platform",
        &serve.url,
        "--data",
        s(bad.path()),
    ])
    .fails_with("401");
    admin(&["approve", "999999"]).fails_with("404");
}
