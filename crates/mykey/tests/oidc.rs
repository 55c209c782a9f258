//! The OpenID Connect provider checked against software no one here wrote: Authlib (from PyPI,
//! pinned in `.ci/python-peers.txt`) runs the whole flow against `mykey serve` — discovery, PKCE, the
//! cross-device page read by its meta tags, approval by `mykey card approve` with a virtual
//! card, the code exchanged with `private_key_jwt`, the ID token validated, userinfo — and
//! `mykey card approve` itself, by URL and by short code, declining too.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{MYKEY, NAME, PIN, SIGN_PASSWORD, Serve, issue_card, missing, mykey, s};

/// The Python that has the PyPI peers: `MYKEY_PEERS_PYTHON`, or the virtual environment
/// `.ci/run` makes at `target/peers`.
fn python() -> String {
    std::env::var("MYKEY_PEERS_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/peers/bin/python").to_string()
    })
}
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/authlib_rp.py");
pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn authlib_present() -> bool {
    Command::new(python())
        .args(["-c", "import authlib.oidc.core, joserfc, requests"])
        .status()
        .is_ok_and(|s| s.success())
}

/// An approved relying party with a PPID service and an OpenID Connect registration allowing
/// `name` and `birthdate`, keys for `private_key_jwt` from `jwks` if given. Answers the
/// registration JSON (with its secret) and the PPID service's ID.
pub(crate) async fn relying_party(
    serve: &Serve,
    data: &std::path::Path,
    jwks: Option<&std::path::Path>,
) -> (Value, String) {
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data)]);
        mykey(&all).ok()
    };
    let mut register = crate::support::register_args("博多書店", "public-authority");
    if let Some(j) = jwks {
        register.extend_from_slice(&["--jwks", s(j)]);
    }
    let rp: Value = serde_json::from_str(&admin(&register).stdout).unwrap();
    let id = rp["id"].to_string();
    admin(&["approve", &id]);
    let service: Value = reqwest::Client::new()
        .post(format!("{}/v1/rp/ppid-services", serve.url))
        .basic_auth(
            rp["client_id"].as_str().unwrap(),
            rp["client_secret"].as_str(),
        )
        .json(&json!({"name": "オンライン書店"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let service = service["id"].to_string();
    let shown = admin(&[
        "oidc",
        &id,
        "--ppid-service",
        &service,
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "name,birthdate",
    ]);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["scopes"], json!(["name", "birthdate"]));
    (rp, service)
}

#[tokio::test(flavor = "multi_thread")]
async fn authlib_logs_in_with_pkce_and_private_key_jwt_while_the_cli_approves_with_the_card() {
    if !authlib_present() {
        return missing(
            module_path!(),
            "Authlib from PyPI is missing (python3 -m venv target/peers && \
             target/peers/bin/pip install -r .ci/python-peers.txt, as scripts/test does)",
        );
    }
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("rp-key.pem");
    let jwks = work.path().join("rp-jwks.json");
    let out = Command::new(python())
        .args([SCRIPT, "keygen", s(&key)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&jwks, &out.stdout).unwrap();
    let (rp, service) = relying_party(&serve, data.path(), Some(&jwks)).await;
    let card = work.path().join("card.json");
    issue_card(&serve.jlis, &card, &[]).ok();

    let out = Command::new(python())
        .env("MYKEY_PLATFORM_URL", &serve.url)
        .args([
            SCRIPT,
            "login",
            &serve.url,
            rp["client_id"].as_str().unwrap(),
            s(&key),
            REDIRECT,
            "openid name birthdate",
            "--",
            MYKEY,
            "card",
            "approve",
            "--card",
            s(&card),
            "--pin",
            PIN,
            "--sign-password",
            SIGN_PASSWORD,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Authlib's run failed:\n{stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    // What the CLI showed the card holder.
    assert!(
        stderr.contains("博多書店") && stderr.contains("name, birthdate"),
        "{stderr}"
    );
    let id_token = &result["id_token"];
    assert_eq!(id_token["iss"], serve.url.as_str());
    assert_eq!(id_token["aud"], rp["client_id"]);
    assert_eq!(id_token["amr"], json!(["hwk", "pin", "mfa"]));
    assert_eq!(
        result["userinfo"],
        json!({"sub": id_token["sub"], "name": NAME, "birthdate": "1985-06-15"})
    );
    assert_eq!(
        result["reuse"],
        json!({"status": 400, "error": "invalid_grant"})
    );
    // sub is the PPID the relying party sees for its service.
    let ppids: Value = reqwest::Client::new()
        .get(format!("{}/v1/rp/ppid-services/{service}/ppids", serve.url))
        .basic_auth(
            rp["client_id"].as_str().unwrap(),
            rp["client_secret"].as_str(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ppids["ppids"][0]["ppid"], id_token["sub"]);
}

/// Opens an authorization request as a browser would; answers the page's HTML.
async fn open_page(serve: &Serve, client_id: &str) -> String {
    let mut u = url::Url::parse(&format!("{}/oidc/authorize", serve.url)).unwrap();
    u.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid name"),
        ("state", "s"),
        ("nonce", "n"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    let resp = reqwest::get(u.as_str()).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

pub(crate) fn short_code(html: &str) -> String {
    let at = html.find("class=\"code\"").unwrap();
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..start + 9].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_approves_by_short_code_declines_and_refuses_bad_input() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let (rp, _) = relying_party(&serve, data.path(), None).await;
    let client_id = rp["client_id"].as_str().unwrap();
    let work = tempfile::tempdir().unwrap();
    let card = work.path().join("card.json");
    issue_card(&serve.jlis, &card, &[]).ok();
    let approve = |request: &str, extra: &[&str]| {
        let mut args = vec![
            "card",
            "approve",
            "--card",
            s(&card),
            "--platform",
            &serve.url,
        ];
        args.extend_from_slice(extra);
        args.push(request);
        mykey(&args)
    };

    // By the short code the browser shows, typed in lower case.
    let html = open_page(&serve, client_id).await;
    let code = short_code(&html).to_lowercase();
    let run = approve(&code, &["--pin", PIN, "--sign-password", SIGN_PASSWORD]).ok();
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["facts_given"], json!(["name"]));
    // Found by its short code: the browser must type the code the phone shows, and the phone
    // said where the browser began.
    assert_eq!(out["confirmation_code"].as_str().map(str::len), Some(6));
    assert!(
        run.stderr.contains("A browser at 127.0.0.1") && run.stderr.contains("Type "),
        "{}",
        run.stderr
    );
    // Answered: the short code names no pending request any more.
    approve(&code, &["--pin", PIN, "--sign-password", SIGN_PASSWORD])
        .fails_with("no such authorization request");

    // Declined: no PIN needed.
    let html = open_page(&serve, client_id).await;
    let code = short_code(&html);
    let run = approve(&code, &["--decline"]).ok();
    assert!(run.stdout.contains("\"declined\":true"), "{}", run.stdout);
    // Declined and reported as not the person's: the operator sees it.
    let html = open_page(&serve, client_id).await;
    let code = short_code(&html);
    let run = approve(&code, &["--decline", "--report"]).ok();
    assert!(run.stdout.contains("\"reported\":true"), "{}", run.stdout);
    approve(&code, &["--report"]).fails_with("--decline");
    let listed = mykey(&[
        "admin",
        "reports",
        "--platform",
        &serve.url,
        "--data",
        s(data.path()),
    ])
    .ok();
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed["reports"][0]["by_short_code"], true);

    // A wrong PIN costs a try, is said so, and leaves the request pending.
    let html = open_page(&serve, client_id).await;
    let code = short_code(&html);
    approve(&code, &["--pin", "0000", "--sign-password", SIGN_PASSWORD])
        .fails_with("wrong user-identification PIN");
    // So does a wrong signature password (the facts' certificate is read with it).
    approve(&code, &["--pin", PIN, "--sign-password", "WRONG123"]).fails_with("signature password");
    // No PIN and no terminal: told how to give one.
    approve(&code, &[]).fails_with("--pin is needed");
    approve(&code, &["--pin", PIN, "--sign-password", SIGN_PASSWORD]).ok();
    // Not a code, not an approval URL, an unknown code.
    approve("$$$", &["--pin", PIN]).fails_with("neither an approval URL nor a short code");
    // An approval URL must be on the phone's own platform: a relay elsewhere would read the
    // confirmation code (and could pass a short-code approval off as a QR one).
    let handle = format!(
        "{}/v1/authorizations/abc",
        serve.url.replace("127.0.0.1", "localhost")
    );
    approve(&handle, &["--pin", PIN]).fails_with("is not on your platform");
    approve(
        "http://127.0.0.1:1@evil.example/v1/authorizations/abc",
        &["--pin", PIN],
    )
    .fails_with("is not on your platform");
    approve("ZZZZ-ZZZZ", &["--pin", PIN]).fails_with("no such authorization request");
}

/// `mykey client login` plays the relying party's web site for the tour: the URL it prints is
/// opened in a "browser", the card approves, the redirect reaches its loopback port, and it
/// prints the verified ID token's claims and userinfo's facts.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_plays_the_relying_party_for_one_login() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let (rp, service) = relying_party(&serve, data.path(), None).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let id = rp["id"].to_string();
    mykey(&[
        "admin",
        "rp",
        "oidc",
        &id,
        "--ppid-service",
        &service,
        "--redirect-uri",
        &redirect,
        "--scope",
        "name",
        "--platform",
        &serve.url,
        "--data",
        s(data.path()),
    ])
    .ok();
    let work = tempfile::tempdir().unwrap();
    let card = work.path().join("card.json");
    issue_card(&serve.jlis, &card, &[]).ok();
    let mut child = Command::new(MYKEY)
        .args(["client", "login", "--scope", "openid name", "--wait", "60"])
        .args(["--port", &port.to_string(), "--platform", &serve.url])
        .env("CLIENT_ID", rp["client_id"].as_str().unwrap())
        .env("CLIENT_SECRET", rp["client_secret"].as_str().unwrap())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "no URL printed");
        if line.starts_with("http") {
            break line.trim().to_owned();
        }
    };
    // The browser: the page, its cookie, the phone's approval, then the way back.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(&url).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let meta = |name: &str| {
        let at = html.find(&format!("name=\"{name}\" content=\"")).unwrap();
        let rest = &html[at..];
        let rest = &rest[rest.find("content=\"").unwrap() + 9..];
        rest[..rest.find('"').unwrap()].replace("&amp;", "&")
    };
    mykey(&[
        "card",
        "approve",
        "--card",
        s(&card),
        "--pin",
        PIN,
        "--sign-password",
        SIGN_PASSWORD,
        "--platform",
        &serve.url,
        &meta("mykey-approve-url"),
    ])
    .ok();
    let back = browser
        .get(format!("{}{}", serve.url, meta("mykey-continue-url")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 303);
    let to = back.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&redirect), "{to}");
    let answer = browser.get(&to).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["userinfo"]["name"], NAME);
    assert_eq!(
        printed["id_token_claims"]["sub"],
        printed["userinfo"]["sub"]
    );
    assert_eq!(printed["id_token_claims"]["iss"], serve.url.as_str());
}

/// Runs Authlib's login against `serve` as `client_id` for `scope` (with `options` before the
/// approver, e.g. `--link-request ID`), the CLI approving with `card`; answers what it printed.
fn authlib_login(
    serve: &Serve,
    client_id: &str,
    key: &std::path::Path,
    scope: &str,
    options: &[&str],
    card: &std::path::Path,
) -> (Value, String) {
    let out = Command::new(python())
        .env("MYKEY_PLATFORM_URL", &serve.url)
        .args([
            SCRIPT,
            "login",
            &serve.url,
            client_id,
            s(key),
            REDIRECT,
            scope,
        ])
        .args(options)
        .args([
            "--",
            MYKEY,
            "card",
            "approve",
            "--card",
            s(card),
            "--pin",
            PIN,
            "--sign-password",
            SIGN_PASSWORD,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "Authlib's run failed:\n{stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn authlib_logs_in_by_service_id_and_its_receiver_verifies_the_withdrawal_with_joserfc() {
    if !authlib_present() {
        return missing(
            module_path!(),
            "Authlib from PyPI is missing (python3 -m venv target/peers && \
             target/peers/bin/pip install -r .ci/python-peers.txt, as scripts/test does)",
        );
    }
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start_with(data.path(), &["--allow-private-push"]);
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("rp-key.pem");
    let jwks = work.path().join("rp-jwks.json");
    let out = Command::new(python())
        .args([SCRIPT, "keygen", s(&key)])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&jwks, &out.stdout).unwrap();
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        mykey(&all).ok()
    };
    let rp: Value = serde_json::from_str(
        &admin(
            &[
                crate::support::register_args("博多図書館", "business"),
                vec!["--jwks", s(&jwks)],
            ]
            .concat(),
        )
        .stdout,
    )
    .unwrap();
    let id = rp["id"].to_string();
    let client_id = rp["client_id"].as_str().unwrap();
    admin(&["approve", &id]);
    let shown: Value = serde_json::from_str(
        &admin(&["oidc", &id, "--service-id", "--redirect-uri", REDIRECT]).stdout,
    )
    .unwrap();
    assert_eq!(shown["subject"], "service-id");
    let http = reqwest::Client::new();
    let as_rp = |m: reqwest::Method, path: &str| {
        http.request(m, format!("{}{path}", serve.url))
            .basic_auth(client_id, rp["client_secret"].as_str())
    };

    // The relying party's push receiver, verifying with joserfc.
    let mut receiver = Command::new(python())
        .args([
            SCRIPT,
            "receive",
            &format!("{}/oidc/jwks", serve.url),
            &serve.url,
            client_id,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = receiver.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let url = lines
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    let stream = as_rp(reqwest::Method::PUT, "/v1/rp/stream")
        .json(&json!({
            "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url},
            "events_requested": ["urn:mykey:secevent:service-id-ended"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200, "{:?}", stream.text().await);

    // A card holder with a My Key ID and no link yet.
    let card = work.path().join("card.json");
    issue_card(&serve.jlis, &card, &[]).ok();
    let session: Value = serde_json::from_str(
        &mykey(&[
            "card",
            "login",
            "--card",
            s(&card),
            "--pin",
            PIN,
            "--platform",
            &serve.url,
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    let token = session["token"].as_str().unwrap();
    let created = http
        .post(format!("{}/v1/me/my-key-id", serve.url))
        .bearer_auth(token)
        .json(&crate::support::my_key_id_creation(None))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    // The library opens a link request for the card holder's library card, and Authlib offers
    // it in the login: one visit links and logs in.
    let opened: Value = as_rp(reqwest::Method::POST, "/v1/rp/service-id-requests")
        .json(&json!({"customer_id": "LIB-2026-0001"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request = opened["request_id"].as_str().unwrap();
    let (result, stderr) = authlib_login(
        &serve,
        client_id,
        &key,
        "openid",
        &["--link-request", request],
        &card,
    );
    assert!(stderr.contains("LIB-2026-0001"), "{stderr}");
    assert_eq!(result["id_token"]["sub"], "LIB-2026-0001");
    assert_eq!(result["userinfo"], json!({"sub": "LIB-2026-0001"}));
    // Next time, the card alone logs the customer in.
    let (again, _) = authlib_login(&serve, client_id, &key, "openid", &[], &card);
    assert_eq!(again["id_token"]["sub"], "LIB-2026-0001");

    // The person withdraws the link; the receiver verifies the event with joserfc.
    let mine: Value = http
        .get(format!("{}/v1/me/service-ids", serve.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = mine["service_ids"][0]["id"].as_i64().unwrap();
    let withdrawn = http
        .delete(format!("{}/v1/me/service-ids/{link}", serve.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), 204);
    let line = lines
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the withdrawal pushed within a minute");
    let _ = receiver.kill();
    let _ = receiver.wait();
    let claims: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(claims["aud"], client_id);
    assert_eq!(
        claims["sub_id"],
        json!({"format": "opaque", "id": "LIB-2026-0001"})
    );
    assert_eq!(
        claims["events"]["urn:mykey:secevent:service-id-ended"]["reason"],
        "withdrawn"
    );
}
