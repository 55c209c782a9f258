//! TLS where no proxy terminates it: the pair checked when read, HTTP/2 and HTTP/1.1 by ALPN,
//! and a renewed certificate served on new connections without a restart — with certificates
//! made by OpenSSL's command line, and its `s_client` as a second client.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::harness::*;

/// A self-signed P-256 certificate for 127.0.0.1 and localhost, named `cn`.
fn make_pair(dir: &Path, name: &str, cn: &str) -> bool {
    Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.crt")))
        .args(["-days", "2", "-subj", &format!("/CN={cn}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn client(dir: &Path, name: &str, http1: bool) -> reqwest::Client {
    let pem = std::fs::read(dir.join(format!("{name}.crt"))).unwrap();
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .no_proxy();
    if http1 {
        b = b.http1_only();
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_serves_http2_and_http1_and_a_renewed_certificate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !make_pair(d, "a", "first") {
        return mykey_testkit::skip(
            module_path!(),
            "OpenSSL's command line is missing (apt-get install openssl)",
        );
    }
    assert!(make_pair(d, "b", "second"));
    let files = |cert: &str, key: &str| mykey_server::TlsFiles {
        cert: d.join(cert),
        key: d.join(key),
    };
    // A key others may read, or the group change: refused, the mode named (0640 is allowed,
    // for a group such as ssl-cert).
    use std::os::unix::fs::PermissionsExt;
    let mode = |m: u32| {
        std::fs::set_permissions(d.join("a.key"), std::fs::Permissions::from_mode(m)).unwrap()
    };
    for open in [0o644, 0o660, 0o604] {
        mode(open);
        let e = mykey_server::Certificates::open(files("a.crt", "a.key")).unwrap_err();
        assert!(
            e.contains("open to other users") && e.contains(&format!("{open:03o}")),
            "{e}"
        );
    }
    mode(0o640);
    mykey_server::Certificates::open(files("a.crt", "a.key")).unwrap();
    mode(0o600);
    // A key that does not fit the certificate, or no certificate at all: refused when read.
    let e = mykey_server::Certificates::open(files("a.crt", "b.key")).unwrap_err();
    assert!(e.contains("does not fit"), "{e}");
    let e = mykey_server::Certificates::open(files("a.key", "a.key")).unwrap_err();
    assert!(e.contains("no certificate"), "{e}");

    // Served from copies, which are replaced later.
    std::fs::copy(d.join("a.crt"), d.join("live.crt")).unwrap();
    std::fs::copy(d.join("a.key"), d.join("live.key")).unwrap();
    let certs = mykey_server::Certificates::open(files("live.crt", "live.key")).unwrap();
    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(mykey_server::serve_tls(
        listener,
        w.router.clone(),
        mykey_server::Limits::default(),
        certs.clone(),
        std::future::pending(),
    ));

    // HTTP/2 by ALPN, HTTP/1.1 when the client offers only that.
    let resp = client(d, "a", false)
        .get(format!("{url}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.version()),
        (200, reqwest::Version::HTTP_2)
    );
    let resp = client(d, "a", true)
        .get(format!("{url}/v1/terms"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.version()),
        (200, reqwest::Version::HTTP_11)
    );
    // OpenSSL's client agrees on h2.
    let port = url.rsplit(':').next().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-alpn",
                "h2,http/1.1",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("ALPN protocol: h2")
            && said
                .lines()
                .any(|l| l.starts_with("subject=") && l.contains("first")),
        "{said}"
    );

    // Nothing changed: nothing reloaded. A replacement that is not a certificate: the one in
    // service is kept.
    assert!(!certs.reload());
    std::fs::write(d.join("live.crt"), "not a certificate").unwrap();
    assert!(!certs.reload());
    assert_eq!(
        client(d, "a", true)
            .get(format!("{url}/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Renewed (the key first, then the chain, as a tool would write them): served on new
    // connections; a client that trusts only the old one no longer connects.
    std::fs::copy(d.join("b.key"), d.join("live.key")).unwrap();
    std::fs::copy(d.join("b.crt"), d.join("live.crt")).unwrap();
    assert!(certs.reload());
    let resp = client(d, "b", false)
        .get(format!("{url}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.version()),
        (200, reqwest::Version::HTTP_2)
    );
    assert!(
        client(d, "a", false)
            .get(format!("{url}/health/live"))
            .send()
            .await
            .is_err()
    );
}

/// An HTTP/2 connection is closed (GOAWAY) once nothing has been in flight on it for as long as
/// a request's head may take, as an idle HTTP/1.1 keep-alive connection is; one in use is not.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_http2_connection_is_closed_and_a_busy_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !make_pair(d, "a", "idle") {
        return mykey_testkit::skip(
            module_path!(),
            "OpenSSL's command line is missing (apt-get install openssl)",
        );
    }
    let certs = mykey_server::Certificates::open(mykey_server::TlsFiles {
        cert: d.join("a.crt"),
        key: d.join("a.key"),
    })
    .unwrap();
    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = mykey_server::Limits {
        header: std::time::Duration::from_millis(1500),
        ..mykey_server::Limits::default()
    };
    tokio::spawn(mykey_server::serve_tls(
        listener,
        w.router.clone(),
        limits,
        certs,
        std::future::pending(),
    ));

    // One connection by hand: TLS with h2 by ALPN, then HTTP/2 on it.
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(d.join("a.crt")).unwrap();
    use rustls::pki_types::pem::PemObject;
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let mut conn = tokio::spawn(conn);
    // In use every half second for three seconds, twice the limit: kept open.
    for _ in 0..6 {
        let req = axum::http::Request::get(format!("https://localhost:{}/v1/terms", addr.port()))
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(!conn.is_finished(), "a connection in use was closed");
    }
    // Then idle: closed by the server within the limit and a little.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), &mut conn).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "the idle HTTP/2 connection was not closed: {ended:?}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(4000));
    assert!(sender.is_closed());
}
