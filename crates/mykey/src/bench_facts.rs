//! `mykey bench facts-sweep`: a platform database with N linked people (a Service ID and a noted
//! signature certificate each), a delta CRL from a signature CA of the benchmark's own revoking
//! R of them for changed facts, and the sweep timed: CRL checked, revoked serials looked up,
//! certificates marked, events queued and logged, in one transaction. One JSON line.

use std::sync::Arc;
use std::time::Instant;

use mykey_pki::issue::{CrlTemplate, SigningKey, build_crl, ca_certificate};
use mykey_pki::{
    CaCertificate, Crl, CrlEntry, IssuanceNumber, Purpose, RevocationReason, TrustAnchors,
    UnixTime, UserIdentificationCertificate,
};
use mykey_platform::{
    Jlis, JlisUnavailable, NewRelyingParty, Platform, PlatformConfig, RelyingPartyKind,
    RevocationAnswer, SignatureStatus, SystemClock,
};

use crate::bench::{FactsArgs, progress_bar};

/// The sweep never asks J-LIS: everything it needs is in the CRL.
#[derive(Debug)]
struct NoJlis;

#[async_trait::async_trait]
impl Jlis for NoJlis {
    async fn previous_issuance_numbers(
        &self,
        _: IssuanceNumber,
    ) -> Result<Vec<IssuanceNumber>, JlisUnavailable> {
        Err(JlisUnavailable("not in this benchmark".into()))
    }

    async fn signature_certificate_status(
        &self,
        _: IssuanceNumber,
    ) -> Result<SignatureStatus, JlisUnavailable> {
        Err(JlisUnavailable("not in this benchmark".into()))
    }

    async fn revocation(
        &self,
        _: &UserIdentificationCertificate,
        _: &CaCertificate,
        _: UnixTime,
    ) -> Result<RevocationAnswer, JlisUnavailable> {
        Err(JlisUnavailable("not in this benchmark".into()))
    }
}

/// Synthetic numbers: user identification from here, signature from `SIGNATURE_FIRST`.
const FIRST: u64 = 1 << 41;
const SIGNATURE_FIRST: u64 = 1 << 42;

pub(crate) async fn run(a: FactsArgs) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = a
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("platform.sqlite3").display()));
    let now = UnixTime::now();
    let rp = mykey_store::open(&url)
        .await
        .map_err(|e| e.to_string())?
        .insert_relying_party(&NewRelyingParty {
            client_id: "rp_bench_facts".into(),
            name: "掃引銀行".into(),
            kind: RelyingPartyKind::Business,
            secret_hash: [0; 32],
            created_at: now,
            jwks: None,
            profile: mykey_platform::RelyingPartyProfile {
                contact: "窓口".into(),
                privacy_policy_url: "https://rp.example/privacy".into(),
                terms_url: "https://rp.example/terms".into(),
            },
        })
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let store = mykey_store::bench::seed_linked(
        &url,
        rp.id,
        (FIRST, SIGNATURE_FIRST),
        a.linked,
        now,
        |done| progress_bar(done, a.linked, "seeding"),
    )
    .await
    .map_err(|e| e.to_string())?;
    eprintln!(
        "\rseeded {} linked people in {:.1} s{}",
        a.linked,
        started.elapsed().as_secs_f64(),
        " ".repeat(30)
    );

    // A signature CA of our own and its delta CRL: every (linked / revoked)-th person moved.
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    let ca = ca_certificate(
        &key,
        Purpose::Signature,
        IssuanceNumber::from_u64(1).map_err(|e| e.to_string())?,
        now.minus(3600),
        now.plus(86_400),
    )
    .map_err(|e| e.to_string())?;
    let step = (a.linked / a.revoked.max(1)).max(1);
    let entries: Vec<CrlEntry> = (0..a.revoked.min(a.linked))
        .map(|i| {
            Ok(CrlEntry {
                serial: IssuanceNumber::from_u64(SIGNATURE_FIRST + i * step)?,
                revoked_at: now.minus(60),
                reason: Some(RevocationReason::AffiliationChanged),
            })
        })
        .collect::<Result<_, mykey_pki::Error>>()
        .map_err(|e| e.to_string())?;
    let der = build_crl(
        &key,
        &ca,
        &CrlTemplate {
            this_update: now.minus(60),
            next_update: now.plus(3600),
            number: 2,
            base_number: Some(1),
            entries: &entries,
        },
    )
    .map_err(|e| e.to_string())?;
    let crl = Crl::from_der(der).map_err(|e| e.to_string())?;

    let platform = Arc::new(Platform::new(
        store,
        Arc::new(NoJlis),
        Arc::new(SystemClock),
        Arc::new(mykey_platform::SystemRng),
        TrustAnchors::new([]),
        PlatformConfig::default(),
    ));
    let started = Instant::now();
    let sweep = platform
        .sweep_signature_crl(&crl, &ca)
        .await
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64();
    if sweep.people != entries.len() as u64 {
        return Err(format!(
            "the sweep found {} of {} revoked people",
            sweep.people,
            entries.len()
        ));
    }
    println!(
        "{}",
        serde_json::json!({
            "bench": "facts-sweep",
            "database": if url.starts_with("sqlite://") { "sqlite" } else { "postgres" },
            "linked": a.linked,
            "revoked": sweep.revoked,
            "people": sweep.people,
            "events": sweep.events,
            "sweep_s": elapsed,
        })
    );
    Ok(())
}
