//! The OCSP responder (RFC 6960) for both CAs. Each status is signed once per validity window
//! and the signed answer reused, as production responders do; a request with a nonce (RFC 8954)
//! gets a freshly signed answer that echoes it. Revocations evict the cached answer at once.

use std::collections::HashMap;
use std::sync::Arc;

use mykey_pki::issue::OcspResponder;
use mykey_pki::ocsp::{CertStatus, Request};
use mykey_pki::{IssuanceNumber, Purpose, UnixTime, oid};
use x509_ocsp::OcspResponseStatus;

use crate::Jlis;

/// Signed answers by (CA generation id, serial).
#[derive(Debug, Default)]
pub(crate) struct Cache {
    map: parking_lot::Mutex<HashMap<(i64, IssuanceNumber), Cached>>,
}

#[derive(Debug, Clone)]
struct Cached {
    // When the window ends and the answer is signed anew.
    renew_at: UnixTime,
    next_update: UnixTime,
    der: Arc<[u8]>,
}

// Bounds the cache; past it, the cache starts over (answers are cheap to sign again).
const CACHE_LIMIT: usize = 1_000_000;
// RFC 8954 §2.1: nonces are 1 to 32 octets; responders refuse longer ones.
const MAX_NONCE: usize = 32;

impl Cache {
    pub(crate) fn evict(&self, ca_id: i64, serial: IssuanceNumber) {
        self.map.lock().remove(&(ca_id, serial));
    }
}

/// An OCSP answer and how long HTTP caches may keep it.
#[derive(Debug)]
pub struct OcspReply {
    /// The DER OCSPResponse.
    pub der: Arc<[u8]>,
    /// Seconds until nextUpdate, for `Cache-Control: max-age` on GET (absent for nonce answers
    /// and errors).
    pub max_age: Option<u64>,
}

impl Jlis {
    /// Answers an OCSP request (DER) to the responder of `purpose`.
    pub async fn ocsp(&self, purpose: Purpose, request: &[u8]) -> OcspReply {
        let error = |status| OcspReply {
            der: OcspResponder::error_response(status).into(),
            max_age: None,
        };
        let Ok(req) = Request::parse(request) else {
            return error(OcspResponseStatus::MalformedRequest);
        };
        let list = &req.tbs_request.request_list;
        let nonce = req
            .tbs_request
            .request_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid::OCSP_NONCE)
            .cloned();
        if list.is_empty()
            || nonce
                .as_ref()
                .is_some_and(|n| nonce_len(n.extn_value.as_bytes()).is_none())
        {
            return error(OcspResponseStatus::MalformedRequest);
        }
        // Every CertID must name the same generation of this purpose's CA.
        let generations: Vec<_> = self
            .authority
            .read()
            .generations(purpose)
            .cloned()
            .collect();
        let Some(g) = generations
            .iter()
            .find(|g| g.responder.serial_for(&list[0].req_cert).is_some())
        else {
            return error(OcspResponseStatus::Unauthorized);
        };
        let mut serials = Vec::with_capacity(list.len());
        for r in list {
            match g.responder.serial_for(&r.req_cert) {
                Some(s) => serials.push(s),
                None => return error(OcspResponseStatus::Unauthorized),
            }
        }
        let now = self.clock.now();
        let cacheable = nonce.is_none() && serials.len() == 1;
        if cacheable
            && let Some(c) = self.ocsp_cache.map.lock().get(&(g.id, serials[0])).cloned()
            && now < c.renew_at
        {
            return OcspReply {
                der: c.der,
                max_age: Some(c.next_update.as_secs().saturating_sub(now.as_secs())),
            };
        }
        let mut statuses = Vec::with_capacity(serials.len());
        for s in &serials {
            match self.db.status(*s).await {
                Ok(found) => statuses.push(status_of(found, g.id)),
                Err(_) => return error(OcspResponseStatus::TryLater),
            }
        }
        let validity = self.config.ocsp_validity.max(1);
        let next_update = now.plus(validity);
        let answers: Vec<_> = list.iter().map(|r| &r.req_cert).zip(statuses).collect();
        let der: Arc<[u8]> =
            match g
                .responder
                .respond(&answers, now, next_update, now, nonce.as_ref())
            {
                Ok(d) => d.into(),
                Err(e) => {
                    tracing::error!(error = %e, "OCSP signing failed");
                    return error(OcspResponseStatus::InternalError);
                }
            };
        if cacheable {
            let renew_at = UnixTime::from_secs((now.as_secs() / validity + 1) * validity);
            let mut map = self.ocsp_cache.map.lock();
            if map.len() >= CACHE_LIMIT {
                map.clear();
            }
            map.insert(
                (g.id, serials[0]),
                Cached {
                    renew_at,
                    next_update,
                    der: der.clone(),
                },
            );
        }
        OcspReply {
            der,
            max_age: cacheable.then_some(validity),
        }
    }
}

fn status_of(
    found: Option<(i64, Option<(UnixTime, mykey_pki::RevocationReason)>)>,
    ca_id: i64,
) -> CertStatus {
    match found {
        Some((ca, None)) if ca == ca_id => CertStatus::Good,
        Some((ca, Some((revoked_at, reason)))) if ca == ca_id => CertStatus::Revoked {
            revoked_at,
            reason: Some(reason),
        },
        _ => CertStatus::Unknown,
    }
}

/// The nonce's length if the extension value is an OCTET STRING of 1..=32 octets.
fn nonce_len(value: &[u8]) -> Option<usize> {
    match value {
        [0x04, len, rest @ ..]
            if usize::from(*len) == rest.len() && (1..=MAX_NONCE).contains(&rest.len()) =>
        {
            Some(rest.len())
        }
        _ => None,
    }
}
