//! Card authentication (docs/architecture.md §1, Terms Art 16): a one-time challenge, the card's
//! signature over it with the user-identification key, and a short-lived session.

use crate::Rng;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_pki::{IssuanceNumber, Purpose, RevocationStatus, UnixTime, verify_challenge};
use serde_json::json;

use crate::relying_party::sha256;
use crate::{
    LinkOutcome, LoginOutcome, LoginWrite, NewLog, PersonId, Platform, PlatformError,
    RelyingPartyId, UsedNonce,
};

/// What a challenge may be used for; a response must name the same purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengePurpose {
    /// The person logs in to their own pages and API.
    Login,
    /// The person confirms a relying party's Service ID link request.
    ServiceIdLink,
    /// The person approves an OpenID Connect authorization.
    Authorization,
    /// The person applies for card points at a kiosk (Art 22.1.10, 26.1.2).
    PointApplication,
}

impl ChallengePurpose {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengePurpose::Login => "login",
            ChallengePurpose::ServiceIdLink => "service-id-link",
            ChallengePurpose::Authorization => "authorization",
            ChallengePurpose::PointApplication => "point-application",
        }
    }

    /// From [`ChallengePurpose::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Login,
            Self::ServiceIdLink,
            Self::Authorization,
            Self::PointApplication,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A one-time login challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// 32 random bytes the card signs.
    pub nonce: [u8; 32],
    /// What it is for.
    pub purpose: ChallengePurpose,
    /// The relying party it was issued for, if any.
    pub relying_party: Option<RelyingPartyId>,
    /// Until when it may be answered.
    pub expires_at: UnixTime,
}

/// A session token: 40 bytes, base64url, 24 of them random (192 bits to guess), the rest its
/// expiry and when it was made, so that sessions are stored in the order they end (see
/// `ordered_token`). Only [`SessionToken::key`] is stored; `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A fresh token for a session that ends at `expires_at`.
    pub(crate) fn new(rng: &dyn Rng, expires_at: UnixTime) -> Self {
        Self(crate::ordered_token::new::<24>(rng, expires_at))
    }

    /// The token text to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token a page of the session `token` puts in its forms (CSRF): only that session's
    /// pages can know it, and it is derived, so nothing more is stored.
    pub fn form_token(token: &str) -> String {
        B64URL.encode(sha256(format!("mykey-portal-form-v1:{token}").as_bytes()))
    }

    /// Whether `given` is the form token of the session `token` (compared in constant time).
    pub fn form_token_matches(token: &str, given: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(
            Self::form_token(token).as_bytes(),
            given.as_bytes(),
        )
        .is_ok()
    }

    /// The key under which the session is stored and looked up.
    pub fn key(token: &str) -> [u8; 32] {
        crate::ordered_token::key::<24>(token)
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

/// A card's answer to a challenge: the nonce, the user-identification certificate (DER) and the
/// card's signature over the nonce.
#[derive(Clone, Copy, Debug)]
pub struct CardAnswer<'a> {
    /// The challenge's nonce.
    pub nonce: &'a [u8; 32],
    /// The user-identification certificate, DER.
    pub certificate: &'a [u8],
    /// The signature over the nonce.
    pub signature: &'a [u8],
}

/// What a verified card answer establishes.
#[derive(Debug)]
pub(crate) struct CardProof {
    /// The certificate's issuance number (never leaves the platform).
    pub(crate) issuance_number: IssuanceNumber,
    /// Log entries the check produced (an OCSP query to J-LIS), for the holder's log.
    pub(crate) logs: Vec<NewLog>,
    /// The nonce answered, to be spent in the caller's transaction.
    pub(crate) nonce: UsedNonce,
    /// When the certificate expires (its notAfter), kept with a new issuance number.
    pub(crate) expires_at: UnixTime,
}

/// A person's session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the token.
    pub token_hash: [u8; 32],
    /// Whose.
    pub person: PersonId,
    /// Until when.
    pub expires_at: UnixTime,
}

impl Platform {
    /// Issues a one-time challenge for `purpose` (and `relying_party`, where given). Nothing is
    /// stored: the nonce carries its own proof of origin (see `challenge.rs`).
    pub async fn challenge(
        &self,
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
    ) -> Result<Challenge, PlatformError> {
        self.bound_challenge(purpose, relying_party, None).await
    }

    /// [`Platform::challenge`], bound to the one request `binding` names (its answer is refused
    /// for any other).
    pub(crate) async fn bound_challenge(
        &self,
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
        binding: Option<&[u8; 32]>,
    ) -> Result<Challenge, PlatformError> {
        let expires_at = self.clock.now().plus(self.config.challenge_ttl.as_secs());
        Ok(Challenge {
            nonce: self
                .challenges
                .issue(&*self.rng, purpose, relying_party, binding, expires_at),
            purpose,
            relying_party,
            expires_at,
        })
    }

    /// Checks the card's answer to a login challenge and opens a session for its holder: the
    /// card is verified ([`Platform::verify_card`]), then, in one transaction, the nonce is
    /// spent, the issuance number's person found, the login logged and the session stored. An
    /// issuance number not seen before is first tied to a person, following renewals.
    pub async fn respond(
        &self,
        card: &CardAnswer<'_>,
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
    ) -> Result<(SessionToken, Session), PlatformError> {
        let now = self.clock.now();
        // The login's own transaction refuses a suspended holder (one read fewer a login).
        let proof = self
            .verify_card_as(card, purpose, relying_party, None, now, false)
            .await?;
        let mut logs = proof.logs;
        logs.push(NewLog::new(
            crate::LogKind::Login,
            json!({"purpose": purpose.as_str()}),
        ));
        let expires_at = now.plus(self.config.session_ttl.as_secs());
        let token = SessionToken::new(&*self.rng, expires_at);
        let write = LoginWrite {
            nonce: proof.nonce,
            issuance_number: proof.issuance_number,
            at: now,
            logs,
            token_hash: SessionToken::key(token.as_str()),
            expires_at,
        };
        let mut outcome = self.store.login(&write).await?;
        if outcome == LoginOutcome::UnknownNumber {
            // First sight of this number: tie it to a person (J-LIS is asked), then log in.
            self.person_for(proof.issuance_number, proof.expires_at, now)
                .await?;
            outcome = self.store.login(&write).await?;
        }
        let person = match outcome {
            LoginOutcome::Done(p) => p,
            LoginOutcome::Replayed => {
                return Err(PlatformError::Card(crate::CardError::ChallengeUnknown));
            }
            LoginOutcome::Suspended => {
                return Err(PlatformError::Access(crate::AccessError::PersonSuspended));
            }
            LoginOutcome::UnknownNumber => {
                return Err(PlatformError::Store(crate::StoreError::corrupt(
                    "an issuance number tied to a person was not found",
                )));
            }
        };
        let session = Session {
            token_hash: write.token_hash,
            person,
            expires_at: write.expires_at,
        };
        Ok((token, session))
    }

    /// [`Platform::verify_card`], and the nonce spent at once (flows whose own transaction
    /// does not record it).
    pub(crate) async fn verify_card_once(
        &self,
        card: &CardAnswer<'_>,
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
        binding: Option<&[u8; 32]>,
        now: UnixTime,
    ) -> Result<CardProof, PlatformError> {
        let proof = self
            .verify_card(card, purpose, relying_party, binding, now)
            .await?;
        if !self.store.use_nonce(&proof.nonce).await? {
            return Err(PlatformError::Card(crate::CardError::ChallengeUnknown));
        }
        Ok(proof)
    }

    /// Checks a card's answer to a challenge; every use of the card goes through here.
    ///
    /// In order: the nonce must be one the platform issued for this purpose and relying party
    /// and be in time; the certificate must pass the profile, path and validity checks at this
    /// moment; the signature must verify over the nonce; J-LIS must not have revoked it (CRL
    /// index, else OCSP; fail closed). A failed answer spends its nonce (it can never be
    /// answered again, whatever follows); a good one leaves that to the caller's transaction
    /// ([`CardProof::nonce`]), with the returned log entries.
    pub(crate) async fn verify_card(
        &self,
        card: &CardAnswer<'_>,
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
        binding: Option<&[u8; 32]>,
        now: UnixTime,
    ) -> Result<CardProof, PlatformError> {
        self.verify_card_as(card, purpose, relying_party, binding, now, true)
            .await
    }

    /// [`Platform::verify_card`]; a suspended holder is refused here only when
    /// `check_suspension` (a caller whose transaction refuses them itself, and spends the
    /// nonce, passes `false`).
    async fn verify_card_as(
        &self,
        card: &CardAnswer<'_>,
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
        binding: Option<&[u8; 32]>,
        now: UnixTime,
        check_suspension: bool,
    ) -> Result<CardProof, PlatformError> {
        let expires_at = self
            .challenges
            .open(card.nonce, purpose, relying_party, binding)
            .ok_or(PlatformError::Card(crate::CardError::ChallengeUnknown))?;
        if now > expires_at {
            return Err(PlatformError::Card(crate::CardError::ChallengeExpired));
        }
        let nonce = UsedNonce {
            nonce: *card.nonce,
            expires_at,
        };
        // A suspended holder (Art 8.2) is refused like a bad card: the nonce is spent.
        let checked = match self.check_card(card, now).await {
            Ok(c) if check_suspension => self.refuse_suspended(c.0).await.map(|()| c),
            other => other,
        };
        match checked {
            Ok((issuance_number, expires_at, logs)) => Ok(CardProof {
                issuance_number,
                logs,
                nonce,
                expires_at,
            }),
            Err(e) => match self.store.use_nonce(&nonce).await? {
                true => Err(e),
                false => Err(PlatformError::Card(crate::CardError::ChallengeUnknown)),
            },
        }
    }

    /// The certificate, signature and revocation checks of [`Platform::verify_card`].
    async fn check_card(
        &self,
        card: &CardAnswer<'_>,
        now: UnixTime,
    ) -> Result<(IssuanceNumber, UnixTime, Vec<NewLog>), PlatformError> {
        let cert = self
            .certificates
            .user_identification(card.certificate, now)?;
        verify_challenge(&cert, card.nonce, card.signature)?;
        self.check_revocation(&cert, now).await
    }

    /// Whether J-LIS has revoked a certificate that passed the path checks (CRL index, else
    /// OCSP; fail closed): its issuance number, expiry, and the log entry of a J-LIS query.
    pub(crate) async fn check_revocation(
        &self,
        cert: &mykey_pki::UserIdentificationCertificate,
        now: UnixTime,
    ) -> Result<(IssuanceNumber, UnixTime, Vec<NewLog>), PlatformError> {
        let issuer = cert
            .authority_key_id()
            .and_then(|k| {
                self.certificates
                    .anchors()
                    .by_key_id(Purpose::UserIdentification, k)
                    .cloned()
            })
            .ok_or_else(|| mykey_pki::Error::UnknownIssuer {
                purpose: Purpose::UserIdentification,
                key_id: String::new(),
            })?;
        let revocation = self.jlis.revocation(cert, &issuer, now).await?;
        if let RevocationStatus::Revoked { reason, .. } = revocation.status {
            return Err(PlatformError::Card(crate::CardError::Revoked { reason }));
        }
        let mut logs = Vec::new();
        if revocation.asked_jlis {
            logs.push(NewLog::new(
                crate::LogKind::JlisQuery,
                json!({"service": "ocsp", "answer": "good"}),
            ));
        }
        Ok((cert.issuance_number(), cert.not_after(), logs))
    }

    /// Ends the sessions and access tokens made before each of these user-identification
    /// certificates was revoked (entries of J-LIS's CRLs, newly read). A renewal's revocation
    /// (superseded) and one lifted (removeFromCRL) end nothing; only revocations recent enough
    /// for a session or token of before them to live on are looked at. Answers how many ended.
    pub async fn end_sessions_of_revoked(
        &self,
        entries: &[mykey_pki::CrlEntry],
    ) -> Result<u64, PlatformError> {
        use mykey_pki::RevocationReason as R;
        let now = self.clock.now();
        let ttl = self
            .config
            .session_ttl
            .as_secs()
            .max(crate::oidc::ACCESS_TOKEN_TTL);
        let revoked: Vec<(IssuanceNumber, UnixTime)> = entries
            .iter()
            .filter(|e| !matches!(e.reason, Some(R::Superseded | R::RemoveFromCrl)))
            .filter(|e| e.revoked_at.plus(ttl) > now)
            .map(|e| (e.serial, e.revoked_at))
            .collect();
        Ok(self
            .store
            .end_sessions_before_revocation(
                &revoked,
                self.config.session_ttl.as_secs(),
                crate::oidc::ACCESS_TOKEN_TTL,
                now,
            )
            .await?)
    }

    /// The session a bearer token stands for.
    pub async fn authenticate(&self, token: &str) -> Result<Session, PlatformError> {
        self.store
            .session(&SessionToken::key(token), self.clock.now())
            .await?
            .ok_or(PlatformError::Access(crate::AccessError::Unauthenticated))
    }

    /// The person an issuance number belongs to; an unknown number is looked up at J-LIS for
    /// previous numbers (renewal continuity, Art 16.1.2–3), and the query is logged (16.1.1).
    pub(crate) async fn person_for(
        &self,
        n: IssuanceNumber,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<PersonId, PlatformError> {
        if let Some(p) = self.store.person_by_issuance_number(n).await? {
            // Flows that check the card without `verify_card` (the PIN-less route) meet the
            // suspension here.
            self.refuse_suspended_person(p).await?;
            return Ok(p);
        }
        let previous = self.jlis.previous_issuance_numbers(n).await?;
        let query = NewLog::new(
            crate::LogKind::JlisQuery,
            json!({"service": "previous-issuance-numbers", "previous_found": previous.len()}),
        );
        // The query is logged first; the renewal (if any) is logged by the store with the move.
        let outcome = self
            .store
            .link_issuance_number(
                n,
                Some(expires_at),
                &previous,
                now,
                std::slice::from_ref(&query),
            )
            .await?;
        if let LinkOutcome::Known(_) = outcome {
            // Another login tied the number in the meantime; the query still happened.
            self.store.append_log(outcome.person(), now, &query).await?;
        }
        self.refuse_suspended_person(outcome.person()).await?;
        Ok(outcome.person())
    }

    /// The person an issuance number belongs to, following renewals, without creating anyone:
    /// `None` when neither the number nor any previous one is known (such a card's holder has
    /// no My Key ID, so nothing is stored for them).
    pub(crate) async fn known_person_for(
        &self,
        n: IssuanceNumber,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<Option<PersonId>, PlatformError> {
        if let Some(p) = self.store.person_by_issuance_number(n).await? {
            self.refuse_suspended_person(p).await?;
            return Ok(Some(p));
        }
        let previous = self.jlis.previous_issuance_numbers(n).await?;
        for p in &previous {
            if self.store.person_by_issuance_number(*p).await?.is_some() {
                // A renewal of a known person's card: tie the new number to them, as at login.
                let query = NewLog::new(
                    crate::LogKind::JlisQuery,
                    json!({"service": "previous-issuance-numbers", "previous_found": previous.len()}),
                );
                let outcome = self
                    .store
                    .link_issuance_number(
                        n,
                        Some(expires_at),
                        &previous,
                        now,
                        std::slice::from_ref(&query),
                    )
                    .await?;
                self.refuse_suspended_person(outcome.person()).await?;
                return Ok(Some(outcome.person()));
            }
        }
        Ok(None)
    }
}
