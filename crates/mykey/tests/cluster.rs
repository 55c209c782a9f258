//! Several nodes on one PostgreSQL database (issue 24.1; docs/operations.md, "Several nodes"):
//! two `mykey serve` processes with one external J-LIS simulator and one issuer. The second
//! node refuses to start with other secrets than the platform's and says why; with the same
//! `secrets.key` it serves with the platform's keys; a cross-device login begun on one node is
//! approved and finished on the other; a relying party suspended through one node is refused
//! by the other a second later; the background work's leases are held by one node and move to
//! the other when it is killed, and are given up when a node stops.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::oidc::{REDIRECT, relying_party, short_code};
use crate::support::{Jlis, PIN, SIGN_PASSWORD, Serve, issue_card, mykey, s};

const ISSUER: &str = "http://platform.example";
/// RFC 7636's example PKCE pair.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The `content` of `<meta name="{name}" content="…">` in `html`.
fn meta(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in the page"));
    let tag_end = at + html[at..].find('>').unwrap();
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_end];
    let c = tag.find("content=\"").unwrap() + "content=\"".len();
    tag[c..c + tag[c..].find('"').unwrap()].replace("&amp;", "&")
}

/// What a JWK Set's ES256 key IDs are waited for to be.
type KidsWanted = Box<dyn Fn(&[String]) -> bool + Send>;

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Who holds each lease, by name.
async fn holders(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT name, holder FROM leases ORDER BY name")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Waits up to `limit` for every one of the four leases to be held by `node`.
async fn all_held_by(pool: &sqlx::PgPool, node: &str, limit: Duration) -> Vec<(String, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let now = holders(pool).await;
        if now.len() == 4 && now.iter().all(|(_, h)| h.starts_with(&format!("{node}/")))
            || Instant::now() > deadline
        {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_share_one_postgresql_database() {
    let Some(db) =
        mykey_testkit::fresh_postgres("cli cluster::two_nodes_share_one_postgresql_database").await
    else {
        return;
    };
    let jlis = Jlis::start();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = |node: &'static str| {
        vec![
            "--database".to_owned(),
            db.url.clone(),
            "--jlis-url".to_owned(),
            jlis.url.clone(),
            "--issuer".to_owned(),
            ISSUER.to_owned(),
            "--node-id".to_owned(),
            node.to_owned(),
        ]
    };
    let a_args = args("node-a");
    let a = Serve::start_with(a_dir.path(), &strs(&a_args));
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();

    // A second node with a secrets.key of its own cannot open the platform's secrets.
    let b_args = args("node-b");
    let serve_b = || crate::support::serve_once(b_dir.path(), &strs(&b_args));
    std::fs::create_dir_all(b_dir.path()).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(b_dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let refused = serve_b().fails_with("does not open the platform's secrets");
    assert!(refused.stderr.contains("secrets.key"), "{}", refused.stderr);
    // Refused, it leaves no key or token of its own behind.
    for name in ["secrets.key", "operator-token", "metrics-token"] {
        assert!(!b_dir.path().join(name).exists(), "{name} left behind");
    }
    // With the platform's secrets.key but a PPID key of its own, it says which file differs.
    let copy_secret = |name: &str| {
        std::fs::copy(a_dir.path().join(name), b_dir.path().join(name)).unwrap();
    };
    copy_secret("secrets.key");
    std::fs::write(b_dir.path().join("ppid-key"), [7u8; 32]).unwrap();
    serve_b().fails_with("ppid-key differs from the ppid-key the platform's database keeps");
    std::fs::remove_file(b_dir.path().join("ppid-key")).unwrap();
    let b = Serve::start_with(b_dir.path(), &strs(&b_args));
    // Nothing of the platform's keys was written into the second node's folder.
    assert!(!b_dir.path().join("signing-key").exists());
    assert!(!b_dir.path().join("ppid-key").exists());

    // One key set: what one node signs, the other's JWK Set verifies.
    let jwks = |url: String| async move {
        reqwest::get(format!("{url}/oidc/jwks"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(jwks(a.url.clone()).await, jwks(b.url.clone()).await);

    // A cross-device login begun on node A (the PC's browser) is approved on node B (the
    // phone) and finished on A; the code is exchanged on B.
    let (rp, _) = relying_party(&a, a_dir.path(), None).await;
    let client_id = rp["client_id"].as_str().unwrap();
    let secret = rp["client_secret"].as_str().unwrap();
    let work = tempfile::tempdir().unwrap();
    let card = work.path().join("card.json");
    issue_card(&jlis.url, &card, &[]).ok();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut authorize = url::Url::parse(&format!("{}/oidc/authorize", a.url)).unwrap();
    authorize.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid name"),
        ("state", "s"),
        ("nonce", "n"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let page = http.get(authorize.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let html = page.text().await.unwrap();
    let code = short_code(&html);
    let continue_url = meta(&html, "mykey-continue-url");
    let approved = mykey(&[
        "card",
        "approve",
        "--card",
        s(&card),
        "--platform",
        &b.url,
        "--pin",
        PIN,
        "--sign-password",
        SIGN_PASSWORD,
        &code,
    ])
    .ok();
    let approved: Value = serde_json::from_str(&approved.stdout).unwrap();
    // The browser types the code the phone shows (a short-code approval).
    let continue_url = url::Url::parse(&format!("{}{continue_url}", a.url)).unwrap();
    let request = continue_url
        .query_pairs()
        .find(|(k, _)| k == "request")
        .unwrap()
        .1
        .into_owned();
    let mut post_to = continue_url.clone();
    post_to.set_query(None);
    let back = http
        .post(post_to.as_str())
        .header("cookie", cookies.join("; "))
        .form(&[
            ("request", request.as_str()),
            (
                "confirmation",
                approved["confirmation_code"].as_str().unwrap(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        back.status().is_redirection(),
        "{}: {}",
        back.status(),
        back.text().await.unwrap()
    );
    let location = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let returned: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(returned.get("iss").map(String::as_str), Some(ISSUER));
    let tokens: Value = http
        .post(format!("{}/oidc/token", b.url))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", returned["code"].as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tokens["id_token"].is_string(), "{tokens}");
    let info = http
        .get(format!("{}/oidc/userinfo", a.url))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200, "the access token of node B serves on A");

    // Suspended through node A, the relying party is refused by node B a second later.
    let rp_call = |url: String| {
        let http = http.clone();
        async move {
            http.get(format!("{url}/v1/rp/service-ids"))
                .basic_auth(client_id, Some(secret))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(rp_call(b.url.clone()).await, 200);
    mykey(&[
        "admin",
        "rp",
        "suspend",
        &rp["id"].to_string(),
        "--platform",
        &a.url,
        "--data",
        s(a_dir.path()),
    ])
    .ok();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(rp_call(b.url.clone()).await, 403);

    // A rotation while both nodes serve: both publish the new key before either signs with
    // it, then both sign with it, and the old one stays published.
    let es256 = |jwks: Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["kty"] == "EC")
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let old = es256(jwks(a.url.clone()).await);
    assert_eq!(old.len(), 1);
    // Not without the time to publish the key first while nodes serve.
    mykey(&[
        "admin",
        "keys",
        "rotate",
        "--publish-secs",
        "0",
        "--data",
        s(a_dir.path()),
        "--database",
        &db.url,
    ])
    .fails_with("nodes are serving: --publish-secs must be at least 15");
    let (data_a, url) = (a_dir.path().to_owned(), db.url.clone());
    let rotation = std::thread::spawn(move || {
        mykey(&[
            "admin",
            "keys",
            "rotate",
            "--data",
            s(&data_a),
            "--database",
            &url,
        ])
    });
    let both = |want: KidsWanted| {
        let (a, b) = (a.url.clone(), b.url.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(12);
            loop {
                let (ka, kb) = (es256(jwks(a.clone()).await), es256(jwks(b.clone()).await));
                if want(&ka) && want(&kb) {
                    return (ka, kb);
                }
                assert!(Instant::now() < deadline, "{ka:?} {kb:?}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    let first = old[0].clone();
    let (published_a, published_b) =
        both(Box::new(move |k: &[String]| k.len() == 2 && k[0] == first)).await;
    assert_eq!(
        published_a, published_b,
        "both publish the next key, both sign with the old"
    );
    let rotated = rotation.join().unwrap().ok();
    let new = published_a[1].clone();
    assert!(rotated.stdout.contains(&new), "{rotated:?}");
    let want = new.clone();
    let (signing_a, signing_b) = both(Box::new(move |k: &[String]| k.first() == Some(&want))).await;
    assert_eq!(signing_a, vec![new.clone(), old[0].clone()]);
    assert_eq!(signing_a, signing_b);

    // The background work: every lease with node A, which started first.
    let held = all_held_by(&pool, "node-a", Duration::from_secs(10)).await;
    assert_eq!(
        held.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["event-push", "facts-sweep", "point-triggers", "purge"]
    );
    assert!(
        held.iter().all(|(_, h)| h.starts_with("node-a/")),
        "{held:?}"
    );
    // Node A killed: its leases run out and node B takes the work over.
    drop(a);
    let killed = Instant::now();
    let held = all_held_by(&pool, "node-b", Duration::from_secs(30)).await;
    assert!(
        held.iter().all(|(_, h)| h.starts_with("node-b/")),
        "{held:?}"
    );
    eprintln!(
        "node B held every lease {:.1} s after node A was killed",
        killed.elapsed().as_secs_f64()
    );
    let metrics_token = std::fs::read_to_string(b_dir.path().join("metrics-token")).unwrap();
    let metrics = http
        .get(format!("{}/metrics", b.url))
        .bearer_auth(metrics_token.trim())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mykey_node_info{node=\"node-b\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mykey_lease_held{lease=\"purge\"} 1"),
        "{metrics}"
    );
    // Node B stopped by the operator gives its leases up at once.
    assert!(b.terminate().success());
    assert_eq!(holders(&pool).await, Vec::<(String, String)>::new());
    pool.close().await;
    db.drop().await;
}
