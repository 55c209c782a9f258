//! The platform's port to J-LIS: previous issuance numbers over its JSON service, and revocation
//! from a per-CA index of complete + delta CRLs refreshed in the background.
//!
//! **The revocation bound.** A login relies on no status older than [`MAX_STATUS_AGE`] (60 s):
//! the index answers while its newest CRL's thisUpdate is that recent (the CRL then holds every
//! revocation J-LIS recorded up to a moment at most that long ago); otherwise J-LIS's OCSP
//! responder is asked, with a nonce (a freshly signed answer), and the answer is kept for that
//! long for the same certificate. So a revocation stops logins within 60 s of J-LIS recording
//! it, whatever J-LIS's CRL cadence: with daily CRLs, as the real J-LIS publishes, logins go to
//! OCSP; the simulator in `mykey serve` publishes deltas every 30 s, and the index is read
//! every 20 s, so logins need no query. When neither answers, fail closed — unless the operator
//! set an outage grace ([`JlisPort::set_outage_grace`]), within which the index answers as of
//! its newest CRL. Revocations
//! newly read from the CRLs also end the sessions and tokens made before them
//! (`Platform::end_sessions_of_revoked`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mykey_pki::ocsp::CertStatus;
use mykey_pki::{
    CaCertificate, Crl, IssuanceNumber, Purpose, RevocationIndex, RevocationStatus, TrustAnchors,
    UnixTime, UserIdentificationCertificate,
};
use mykey_platform::{Clock, FactsSweep, Jlis, JlisUnavailable, RevocationAnswer, SignatureStatus};

use crate::{CertificateStanding, JlisClient, OcspClient};
use parking_lot::RwLock;

/// Revocations older than this (seconds) are not handed on from a CRL read: no session or token
/// made before them lives on (sessions last 15 minutes, tokens 10), and a complete CRL of
/// millions of entries is not copied.
const RECENT_REVOCATIONS: u64 = 3600;

/// The entries of `crl` revoked in the last [`RECENT_REVOCATIONS`] seconds before `now`.
fn recent(crl: &Crl, now: UnixTime) -> Vec<mykey_pki::CrlEntry> {
    crl.entries()
        .filter_map(Result::ok)
        .filter(|e| e.revoked_at.plus(RECENT_REVOCATIONS) > now)
        .collect()
}

/// People whose signature certificate is learnt again from J-LIS in one go.
const RENOTE_BATCH: usize = 1000;
/// Batches in one pass at most.
const RENOTE_BATCHES: usize = 20;

/// Learns again every signature certificate due (`Platform::renote_signature_certificates`);
/// a failure is logged and the rest waits for the next pass (the store keeps what is due).
async fn renote(platform: &mykey_platform::Platform) {
    // Batch after batch through everyone due (people J-LIS names no certificate for stay due,
    // for the next pass), at most a bounded number a pass.
    let mut after = None;
    for _ in 0..RENOTE_BATCHES {
        match platform
            .renote_signature_certificates(after, RENOTE_BATCH)
            .await
        {
            Ok((n, last)) => {
                if n > 0 {
                    tracing::info!(people = n, "signature certificates looked up again");
                }
                if n < RENOTE_BATCH {
                    return;
                }
                after = last;
            }
            Err(e) => {
                tracing::warn!(error = %e, "learning signature certificates again failed");
                return;
            }
        }
    }
}

/// The oldest revocation status a login relies on, in seconds (see the module docs).
pub const MAX_STATUS_AGE: u64 = 60;

/// The first 8 bytes of a key identifier, in hex: a CA's name in the metrics.
fn hex_prefix(id: &[u8]) -> String {
    id.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Most OCSP answers kept; beyond that, the ones too old to use are dropped.
const OCSP_KEPT: usize = 200_000;

/// J-LIS as the platform sees it.
pub struct JlisPort {
    client: JlisClient,
    ocsp: OcspClient,
    /// Fresh OCSP answers by CA key identifier and serial: the status and its thisUpdate.
    answers: parking_lot::Mutex<HashMap<(Vec<u8>, IssuanceNumber), (RevocationStatus, UnixTime)>>,
    clock: Arc<dyn Clock>,
    cas: RwLock<Vec<CaState>>,
    /// The signature CAs and their CRLs, for the facts-change sweep.
    signature_cas: RwLock<Vec<SignatureCa>>,
    /// OCSP requests made, and failed; CRL fetches failed (the metrics).
    ocsp_requests: AtomicU64,
    ocsp_failures: AtomicU64,
    crl_failures: AtomicU64,
    /// Seconds past [`MAX_STATUS_AGE`] an index may answer while J-LIS cannot be reached (0:
    /// none; see [`JlisPort::set_outage_grace`]).
    outage_grace: AtomicU64,
}

/// A CA generation and where its CRLs are, for the sweep: a signature CA's (changes of the
/// four facts) or a user-identification CA's (ends of cards).
#[derive(Clone)]
struct SignatureCa {
    ca: CaCertificate,
    crl_url: String,
    delta_crl_url: String,
}

/// What a swept CRL is read for.
#[derive(Clone, Copy)]
enum Swept {
    /// Changes of the four facts (Art 17.2.2).
    Facts,
    /// Ends of cards, which end My Key IDs (Art 15.3).
    Cards,
}

struct CaState {
    ca: CaCertificate,
    crl_url: String,
    delta_crl_url: String,
    ocsp_url: String,
    index: Option<RevocationIndex>,
    full_next_update: UnixTime,
}

impl std::fmt::Debug for JlisPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JlisPort")
            .field("jlis", &self.client.base())
            .finish_non_exhaustive()
    }
}

impl JlisPort {
    /// Connects to J-LIS at `base`: learns its user-identification CAs and where their CRLs and
    /// OCSP responders are, and builds the revocation indexes once. Every call is bounded by
    /// `timeout`.
    /// While J-LIS cannot be reached (neither a fresh CRL nor an OCSP answer), let the index
    /// answer for up to `secs` more than [`MAX_STATUS_AGE`]: the status as of its newest CRL,
    /// blind to revocations since. 0, the default, fails closed at once: a login then waits
    /// for J-LIS. An operator's choice for a long outage (`mykey serve --jlis-outage-grace`),
    /// logged at each such answer.
    pub fn set_outage_grace(&self, secs: u64) {
        self.outage_grace.store(secs, Ordering::Relaxed);
    }

    /// The answer of an index no older than the bound and the outage grace, for `n` of
    /// `issuer`, as of that index's newest CRL; `None` when there is none such.
    fn in_outage(
        &self,
        issuer: &CaCertificate,
        n: &IssuanceNumber,
        at: UnixTime,
    ) -> Option<RevocationAnswer> {
        let grace = self.outage_grace.load(Ordering::Relaxed);
        if grace == 0 {
            return None;
        }
        let cas = self.cas.read();
        let index = cas
            .iter()
            .find(|c| c.ca.key_id() == issuer.key_id())?
            .index
            .as_ref()?;
        let age = at.as_secs().saturating_sub(index.as_of().as_secs());
        if age > MAX_STATUS_AGE.saturating_add(grace) {
            return None;
        }
        let status = index.lookup(n, index.as_of());
        if matches!(status, RevocationStatus::Stale { .. }) {
            return None;
        }
        tracing::warn!(
            index_age_secs = age,
            "J-LIS unreachable: a revocation status answered from the index within the outage grace"
        );
        Some(RevocationAnswer {
            status,
            asked_jlis: false,
        })
    }

    pub async fn connect(
        base: &str,
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, JlisUnavailable> {
        let unavailable = |e: crate::ClientError| JlisUnavailable(e.to_string());
        let client = JlisClient::new(base, timeout).map_err(unavailable)?;
        let mut cas = Vec::new();
        let mut signature_cas = Vec::new();
        for entry in client.cas().await.map_err(unavailable)? {
            let der = client
                .get_bytes(&entry.certificate_url)
                .await
                .map_err(unavailable)?;
            let ca = CaCertificate::from_der(&der).map_err(|e| JlisUnavailable(e.to_string()))?;
            if entry.purpose == Purpose::Signature.slug() {
                signature_cas.push(SignatureCa {
                    ca,
                    crl_url: entry.crl_url,
                    delta_crl_url: entry.delta_crl_url,
                });
                continue;
            }
            if entry.purpose != Purpose::UserIdentification.slug() {
                continue;
            }
            cas.push(CaState {
                ca,
                crl_url: entry.crl_url,
                delta_crl_url: entry.delta_crl_url,
                ocsp_url: entry.ocsp_url,
                index: None,
                full_next_update: UnixTime::from_secs(0),
            });
        }
        let port = Self {
            client,
            ocsp: OcspClient::new(timeout).map_err(|e| JlisUnavailable(e.to_string()))?,
            answers: parking_lot::Mutex::new(HashMap::new()),
            clock,
            cas: RwLock::new(cas),
            signature_cas: RwLock::new(signature_cas),
            ocsp_requests: AtomicU64::new(0),
            ocsp_failures: AtomicU64::new(0),
            crl_failures: AtomicU64::new(0),
            outage_grace: AtomicU64::new(0),
        };
        port.refresh().await;
        Ok(port)
    }

    /// J-LIS's CAs as trust anchors: the user-identification CAs (logins) and the signature
    /// CAs (the four facts a signature certificate certifies).
    pub fn anchors(&self) -> TrustAnchors {
        TrustAnchors::new(
            self.cas
                .read()
                .iter()
                .map(|c| c.ca.clone())
                .chain(self.signature_cas.read().iter().map(|s| s.ca.clone())),
        )
    }

    /// Learns the CA generations J-LIS has added since (a rollover keeps the name and brings a
    /// new key): each must be served by the J-LIS configured, have the JPKI CA profile, the key
    /// identifier listed and the name of its purpose's CA, be self-signed and valid now; then
    /// its CRLs are followed and it is answered, to be trusted from now on
    /// (`Platform::trust_ca`). One that fails a check is logged and left out. What vouches for a
    /// new generation is the J-LIS connection the operator configured (JPKI publishes no link
    /// certificates): reach J-LIS over https, or a network of its own.
    pub async fn refresh_cas(&self) -> Vec<CaCertificate> {
        let entries = match self.client.cas().await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "the CA list could not be fetched");
                return Vec::new();
            }
        };
        let now = self.clock.now();
        let mut new = Vec::new();
        for entry in entries {
            let known = self
                .cas
                .read()
                .iter()
                .map(|c| c.ca.clone())
                .chain(self.signature_cas.read().iter().map(|s| s.ca.clone()))
                .collect::<Vec<_>>();
            if known
                .iter()
                .any(|c| hex::encode(c.key_id()) == entry.key_id)
            {
                continue;
            }
            let checked = async {
                let base = self.client.base().trim_end_matches('/');
                let url = &entry.certificate_url;
                if url.contains("://") && !url.starts_with(&format!("{base}/")) {
                    return Err("the certificate is not served by the J-LIS configured".to_owned());
                }
                let der = self
                    .client
                    .get_bytes(&entry.certificate_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let ca = CaCertificate::from_der(&der).map_err(|e| e.to_string())?;
                if hex::encode(ca.key_id()) != entry.key_id {
                    return Err("the certificate's key identifier is not the one listed".to_owned());
                }
                if ca.purpose().slug() != entry.purpose {
                    return Err(
                        "the certificate is not of the purpose J-LIS lists it for".to_owned()
                    );
                }
                ca.check_self_signed(now).map_err(|e| e.to_string())?;
                if known
                    .iter()
                    .any(|k| k.purpose() == ca.purpose() && k.subject_der() != ca.subject_der())
                {
                    return Err("the name is not the one of its purpose's CA".to_owned());
                }
                Ok(ca)
            }
            .await;
            let ca = match checked {
                Ok(ca) => ca,
                Err(e) => {
                    tracing::warn!(key_id = %entry.key_id, error = %e, "a new CA generation was refused");
                    continue;
                }
            };
            tracing::info!(
                purpose = ca.purpose().slug(),
                generation = entry.generation,
                "a new CA generation is trusted"
            );
            match ca.purpose() {
                Purpose::Signature => self.signature_cas.write().push(SignatureCa {
                    ca: ca.clone(),
                    crl_url: entry.crl_url,
                    delta_crl_url: entry.delta_crl_url,
                }),
                Purpose::UserIdentification => self.cas.write().push(CaState {
                    ca: ca.clone(),
                    crl_url: entry.crl_url,
                    delta_crl_url: entry.delta_crl_url,
                    ocsp_url: entry.ocsp_url,
                    index: None,
                    full_next_update: UnixTime::from_secs(0),
                }),
            }
            new.push(ca);
        }
        new
    }

    /// Brings every index up to date: the newest delta CRL, and a new complete CRL when the held
    /// one has passed its nextUpdate or the delta builds on a newer one. Failures are logged and
    /// leave the old index in place (it answers until its own nextUpdate). Answers the entries
    /// of the CRLs newly taken in (for ending the sessions of revoked certificates).
    pub async fn refresh(&self) -> Vec<mykey_pki::CrlEntry> {
        let mut read = Vec::new();
        let now = self.clock.now();
        let count = self.cas.read().len();
        for i in 0..count {
            let (ca, crl_url, delta_url, held_base, full_due) = {
                let cas = self.cas.read();
                let c = &cas[i];
                let base = c.index.as_ref().map(RevocationIndex::base_number);
                (
                    c.ca.clone(),
                    c.crl_url.clone(),
                    c.delta_crl_url.clone(),
                    base,
                    now >= c.full_next_update,
                )
            };
            let delta = match self.fetch_crl(&delta_url).await {
                Ok(d) => Some(d),
                Err(e) => {
                    self.crl_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(url = %delta_url, error = %e, "delta CRL refresh failed");
                    None
                }
            };
            let newer_base = delta
                .as_ref()
                .and_then(Crl::base_number)
                .zip(held_base)
                .is_some_and(|(b, h)| b > h);
            if held_base.is_none() || full_due || newer_base {
                let fresh = self.fetch_crl(&crl_url).await.and_then(|crl| {
                    let index = RevocationIndex::from_full_crl(&crl, &ca, now)
                        .map_err(|e| e.to_string())?;
                    let entries = recent(&crl, now);
                    Ok((index, crl.next_update().unwrap_or(now), entries))
                });
                match fresh {
                    Ok((index, next, entries)) => {
                        let mut cas = self.cas.write();
                        cas[i].index = Some(index);
                        cas[i].full_next_update = next;
                        read.extend(entries);
                    }
                    Err(e) => {
                        self.crl_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(url = %crl_url, error = %e, "complete CRL refresh failed")
                    }
                }
            }
            if let Some(delta) = delta {
                let mut cas = self.cas.write();
                if let Some(index) = cas[i].index.as_mut()
                    && index
                        .delta_number()
                        .is_none_or(|held| delta.number() > held)
                {
                    match index.apply_delta(&delta, &ca, now) {
                        Ok(()) => read.extend(recent(&delta, now)),
                        Err(e) => {
                            self.crl_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(url = %delta_url, error = %e, "delta CRL not applied")
                        }
                    }
                }
            }
        }
        read
    }

    /// One pass of the facts-change sweep (Art 17.2.2): people whose signature certificate
    /// must be learnt again first, then each signature CA's CRLs from where the last pass
    /// stopped — the newest delta, and the complete CRL whenever the delta builds on a base
    /// newer than the one read (or none was read yet). A CRL is read in full each time it is
    /// new, so nothing a missed delta held is lost (deltas are cumulative from their base);
    /// telling is idempotent, so a pass cut short is simply done again. Failures are logged and
    /// leave the position where it was.
    /// Answers what the pass found.
    pub async fn sweep_facts(&self, platform: &mykey_platform::Platform) -> FactsSweep {
        let mut found = FactsSweep::default();
        renote(platform).await;
        let signature_cas = self.signature_cas.read().clone();
        for sca in &signature_cas {
            match self.sweep_ca(platform, sca, Swept::Facts).await {
                Ok(s) => found += s,
                Err(e) => {
                    tracing::warn!(ca = %hex::encode(sca.ca.key_id()), error = %e, "facts-change sweep failed")
                }
            }
        }
        // At once, not at the next pass: a change after the one just told is then found in
        // the next CRL (two changes within one pass are told as one).
        if found.people > 0 {
            renote(platform).await;
        }
        self.sweep_cards(platform).await;
        found
    }

    /// The ends of cards, in the same pass (`mykey_platform`'s `card_end.rs`): each
    /// user-identification CA's CRLs from where the last pass stopped, then the cards expired
    /// beyond the grace period. Failures are logged and left for the next pass.
    async fn sweep_cards(&self, platform: &mykey_platform::Platform) {
        let cas: Vec<SignatureCa> = self
            .cas
            .read()
            .iter()
            .map(|c| SignatureCa {
                ca: c.ca.clone(),
                crl_url: c.crl_url.clone(),
                delta_crl_url: c.delta_crl_url.clone(),
            })
            .collect();
        for ca in &cas {
            if let Err(e) = self.sweep_ca(platform, ca, Swept::Cards).await {
                tracing::warn!(ca = %hex::encode(ca.ca.key_id()), error = %e, "card-end sweep failed")
            }
        }
        loop {
            match platform.end_expired_cards().await {
                Ok(n) if n > 0 => tracing::info!(ended = n, "My Key IDs of expired cards ended"),
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "expired-card sweep failed");
                    break;
                }
            }
        }
    }

    async fn sweep_ca(
        &self,
        platform: &mykey_platform::Platform,
        sca: &SignatureCa,
        swept: Swept,
    ) -> Result<FactsSweep, String> {
        let mut found = FactsSweep::default();
        let delta = self.fetch_crl(&sca.delta_crl_url).await?;
        let held = platform
            .crl_sweep_position(&sca.ca)
            .await
            .map_err(|e| e.to_string())?;
        let mut at = held.unwrap_or_default();
        let new_base = match (held, delta.base_number()) {
            (None, _) | (_, None) => true,
            (Some(h), Some(base)) => base > h.complete,
        };
        if new_base {
            let complete = self.fetch_crl(&sca.crl_url).await?;
            found = self.sweep_one(platform, &complete, sca, swept).await?;
            at = mykey_platform::CrlSweepPosition {
                complete: complete.number(),
                delta: 0,
            };
        }
        if delta.number() > at.delta {
            found += self.sweep_one(platform, &delta, sca, swept).await?;
            at.delta = delta.number();
        }
        if held != Some(at) {
            platform
                .set_crl_sweep_position(&sca.ca, at)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(found)
    }

    async fn sweep_one(
        &self,
        platform: &mykey_platform::Platform,
        crl: &Crl,
        sca: &SignatureCa,
        swept: Swept,
    ) -> Result<FactsSweep, String> {
        if let Swept::Cards = swept {
            let ended = platform
                .sweep_user_identification_crl(crl, &sca.ca)
                .await
                .map_err(|e| e.to_string())?;
            if ended > 0 {
                tracing::info!(
                    crl = crl.number(),
                    ended,
                    "My Key IDs of revoked cards ended"
                );
            }
            return Ok(FactsSweep::default());
        }
        let s = platform
            .sweep_signature_crl(crl, &sca.ca)
            .await
            .map_err(|e| e.to_string())?;
        if s.people > 0 {
            tracing::info!(
                crl = crl.number(),
                people = s.people,
                events = s.events,
                "facts changes found"
            );
        }
        Ok(s)
    }

    /// Sweeps for changes of the four facts ([`JlisPort::sweep_facts`]) every `every` until
    /// the task is dropped.
    pub async fn run_facts_sweeper(
        self: Arc<Self>,
        platform: Arc<mykey_platform::Platform>,
        every: Duration,
    ) {
        loop {
            let _ = self.sweep_facts(&platform).await;
            tokio::time::sleep(every).await;
        }
    }

    /// Refreshes every `every` until the task is dropped: new CA generations are trusted
    /// ([`JlisPort::refresh_cas`]), and what the new CRLs revoke ends the sessions and tokens
    /// made before it.
    pub async fn run_refresher(
        self: Arc<Self>,
        platform: Arc<mykey_platform::Platform>,
        every: Duration,
    ) {
        loop {
            tokio::time::sleep(every).await;
            for ca in self.refresh_cas().await {
                platform.trust_ca(ca);
            }
            let read = self.refresh().await;
            match platform.end_sessions_of_revoked(&read).await {
                Ok(n) if n > 0 => tracing::info!(
                    ended = n,
                    "sessions and tokens of revoked certificates ended"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "ending sessions of revoked certificates failed")
                }
            }
        }
    }

    async fn fetch_crl(&self, url: &str) -> Result<Crl, String> {
        let der = self
            .client
            .get_bytes(url)
            .await
            .map_err(|e| e.to_string())?;
        Crl::from_der(der).map_err(|e| e.to_string())
    }
}

#[async_trait::async_trait]
impl Jlis for JlisPort {
    async fn previous_issuance_numbers(
        &self,
        n: IssuanceNumber,
    ) -> Result<Vec<IssuanceNumber>, JlisUnavailable> {
        self.client
            .earlier_issuance_numbers(n)
            .await
            .map_err(|e| JlisUnavailable(e.to_string()))
    }

    async fn signature_certificate_status(
        &self,
        n: IssuanceNumber,
    ) -> Result<SignatureStatus, JlisUnavailable> {
        let answer = self
            .client
            .signature_certificates(n)
            .await
            .map_err(|e| JlisUnavailable(e.to_string()))?;
        let paired = answer.paired.map(|p| {
            let reason = match p.state {
                CertificateStanding::Revoked(reason) => reason,
                CertificateStanding::Good | CertificateStanding::Expired => None,
            };
            (p.serial, reason)
        });
        let current = answer
            .current
            .filter(|c| c.state == CertificateStanding::Good)
            .map(|c| c.serial);
        Ok(SignatureStatus { paired, current })
    }

    async fn ticket_item_status(
        &self,
        n: IssuanceNumber,
        signature: &mykey_pki::ticket::TicketSignature,
    ) -> Result<mykey_platform::TicketItemStatus, JlisUnavailable> {
        let (facts_digest, item_id, signature) = signature.to_text();
        let check = crate::api::TicketItemCheck {
            facts_digest,
            item_id,
            signature,
        };
        let answer = self
            .client
            .ticket_item_status(n, &check)
            .await
            .map_err(|e| JlisUnavailable(e.to_string()))?;
        // An answer about another number, or a status J-LIS does not define, is not believed.
        if answer.issuance_number.parse::<IssuanceNumber>().ok() != Some(n) {
            return Err(JlisUnavailable(
                "J-LIS answered about another issuance number".into(),
            ));
        }
        match answer.status.as_str() {
            "current" => Ok(mykey_platform::TicketItemStatus::Current),
            "outdated" => Ok(mykey_platform::TicketItemStatus::Outdated),
            "revoked" => Ok(mykey_platform::TicketItemStatus::Revoked),
            "invalid" => Ok(mykey_platform::TicketItemStatus::Invalid),
            other => Err(JlisUnavailable(format!(
                "J-LIS answered an unknown ticket-item status {other:?}"
            ))),
        }
    }

    fn revocation_index_age(&self, at: UnixTime) -> Option<u64> {
        self.cas
            .read()
            .iter()
            .map(|c| {
                c.index.as_ref().map_or(u64::MAX, |i| {
                    at.as_secs().saturating_sub(i.as_of().as_secs())
                })
            })
            .max()
    }

    fn freshness(&self, at: UnixTime) -> mykey_platform::JlisFreshness {
        mykey_platform::JlisFreshness {
            index_ages: self
                .cas
                .read()
                .iter()
                .map(|c| {
                    let id = c.ca.key_id();
                    let age = c.index.as_ref().map_or(u64::MAX, |i| {
                        at.as_secs().saturating_sub(i.as_of().as_secs())
                    });
                    (hex_prefix(id), age)
                })
                .collect(),
            ocsp_requests: self.ocsp_requests.load(Ordering::Relaxed),
            ocsp_failures: self.ocsp_failures.load(Ordering::Relaxed),
            crl_failures: self.crl_failures.load(Ordering::Relaxed),
        }
    }

    async fn revocation(
        &self,
        cert: &UserIdentificationCertificate,
        issuer: &CaCertificate,
        at: UnixTime,
    ) -> Result<RevocationAnswer, JlisUnavailable> {
        let n = cert.issuance_number();
        let fresh =
            |as_of: UnixTime| at.as_secs().saturating_sub(as_of.as_secs()) <= MAX_STATUS_AGE;
        let ocsp_url = {
            let cas = self.cas.read();
            let state = cas
                .iter()
                .find(|c| c.ca.key_id() == issuer.key_id())
                .ok_or_else(|| JlisUnavailable("no revocation source for this CA".into()))?;
            if let Some(index) = &state.index
                && fresh(index.as_of())
            {
                match index.lookup(&n, at) {
                    RevocationStatus::Stale { .. } => {}
                    status => {
                        return Ok(RevocationAnswer {
                            status,
                            asked_jlis: false,
                        });
                    }
                }
            }
            state.ocsp_url.clone()
        };
        let key = (issuer.key_id().to_vec(), n);
        if let Some((status, as_of)) = self.answers.lock().get(&key).copied()
            && fresh(as_of)
        {
            return Ok(RevocationAnswer {
                status,
                asked_jlis: false,
            });
        }
        self.ocsp_requests.fetch_add(1, Ordering::Relaxed);
        let answer = match self.ocsp.check(&ocsp_url, issuer, n, at).await {
            Ok(a) => a,
            Err(e) => {
                self.ocsp_failures.fetch_add(1, Ordering::Relaxed);
                return self
                    .in_outage(issuer, &n, at)
                    .ok_or_else(|| JlisUnavailable(e.to_string()));
            }
        };
        let status = match answer.status {
            CertStatus::Good => RevocationStatus::Good,
            CertStatus::Revoked { revoked_at, reason } => {
                RevocationStatus::Revoked { reason, revoked_at }
            }
            // J-LIS does not know the certificate: treat it as not valid (fail closed).
            CertStatus::Unknown => RevocationStatus::Revoked {
                reason: None,
                revoked_at: at,
            },
        };
        if fresh(answer.this_update) {
            let mut answers = self.answers.lock();
            if answers.len() >= OCSP_KEPT {
                answers.retain(|_, (_, as_of)| fresh(*as_of));
            }
            if answers.len() < OCSP_KEPT {
                answers.insert(key, (status, answer.this_update));
            }
        }
        Ok(RevocationAnswer {
            status,
            asked_jlis: true,
        })
    }
}
