//! My Key ID (Terms Art 15, 16): created at the person's request — who accepts, with it, the
//! matters of Art 16 under the terms in force, recorded as a consent — at most one active at a
//! time, changeable to another free value, revocable. A value once used is never given to
//! anyone else.

use serde_json::json;

use crate::{
    ConsentItem, LogEntry, MyKeyId, MyKeyIdChange, MyKeyIdState, NewConsent, NewLog, Platform,
    PlatformError, Session,
};

/// The matters of Art 16.1, which a person accepts when creating a My Key ID.
pub const MY_KEY_ID_CONSENT: [ConsentItem; 3] = [
    ConsentItem {
        name: "my-key-id.validity-check",
        text: "To confirm that your user-identification certificate is valid, the platform sends its issuance number to J-LIS (Art 16.1.1).",
    },
    ConsentItem {
        name: "my-key-id.previous-issuance-numbers",
        text: "When you renew your My Number Card, the platform may also use the issuance number of your earlier user-identification certificate, so that you keep the account you had (Art 16.1.2).",
    },
    ConsentItem {
        name: "my-key-id.jlis-previous-number-search",
        text: "For that, J-LIS searches for the earlier issuance number with the one sent to it and, if there is one, sends it to the platform (Art 16.1.3).",
    },
];

// Random IDs collide with probability ~n/36⁸; a few draws always suffice.
const DRAWS: usize = 8;

/// Most log entries in one page.
pub const MAX_LOG_PAGE: usize = 1000;

impl Platform {
    /// The person's active My Key ID.
    pub async fn my_key_id(&self, s: &Session) -> Result<Option<MyKeyIdState>, PlatformError> {
        Ok(self.store.my_key_id(s.person).await?)
    }

    /// Creates the person's My Key ID: `requested`, or a random free one. `consent` must name
    /// exactly the matters of Art 16.1 ([`MY_KEY_ID_CONSENT`]) under the terms in force; it is
    /// recorded with the creation, and the log names it.
    pub async fn create_my_key_id(
        &self,
        s: &Session,
        requested: Option<MyKeyId>,
        consent: &NewConsent,
    ) -> Result<MyKeyId, PlatformError> {
        self.refuse_after_termination().await?;
        self.check_consent(consent, &MY_KEY_ID_CONSENT).await?;
        self.choose(
            s,
            requested,
            MyKeyIdChange::Create,
            crate::LogKind::MyKeyIdCreated,
            Some(consent),
        )
        .await
    }

    /// Changes the person's My Key ID to `requested`, or to a random free one.
    pub async fn change_my_key_id(
        &self,
        s: &Session,
        requested: Option<MyKeyId>,
    ) -> Result<MyKeyId, PlatformError> {
        self.choose(
            s,
            requested,
            MyKeyIdChange::Change,
            crate::LogKind::MyKeyIdChanged,
            None,
        )
        .await
    }

    /// Revokes the person's My Key ID; every function that uses it ends (Art 15.3) — every
    /// Service ID with it, in the same transaction, each logged. (Art 27's forfeiture of
    /// point-programme rights applies once that programme exists.)
    pub async fn revoke_my_key_id(&self, s: &Session) -> Result<(), PlatformError> {
        let log = NewLog::new(crate::LogKind::MyKeyIdRevoked, json!({}));
        self.store
            .change_my_key_id(
                s.person,
                MyKeyIdChange::Revoke,
                self.clock.now(),
                &log,
                None,
            )
            .await??;
        Ok(())
    }

    /// The person's own log, oldest first.
    pub async fn log(&self, s: &Session) -> Result<Vec<LogEntry>, PlatformError> {
        Ok(self.store.log(s.person).await?)
    }

    /// A page of the person's own log: at most `limit` entries (1 to [`MAX_LOG_PAGE`]) past the
    /// entry `from` (not included; none: from the start, or with `newest_first` from the
    /// newest). Answers the page and the cursor of the next one, if there is one.
    pub async fn log_page(
        &self,
        s: &Session,
        from: Option<u64>,
        newest_first: bool,
        limit: usize,
    ) -> Result<(Vec<LogEntry>, Option<u64>), PlatformError> {
        self.person_log_page(s.person, from, newest_first, limit)
            .await
    }

    /// [`Platform::log_page`] of any person (the help desk's view, `operators.rs`).
    pub async fn person_log_page(
        &self,
        person: crate::PersonId,
        from: Option<u64>,
        newest_first: bool,
        limit: usize,
    ) -> Result<(Vec<LogEntry>, Option<u64>), PlatformError> {
        let limit = limit.clamp(1, MAX_LOG_PAGE);
        let mut page = self
            .store
            .log_page(person, from, newest_first, limit + 1)
            .await?;
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|e| e.seq)
        } else {
            None
        };
        Ok((page, next))
    }

    async fn choose(
        &self,
        s: &Session,
        requested: Option<MyKeyId>,
        change: fn(MyKeyId) -> MyKeyIdChange,
        kind: crate::LogKind,
        consent: Option<&NewConsent>,
    ) -> Result<MyKeyId, PlatformError> {
        let draws = if requested.is_some() { 1 } else { DRAWS };
        let mut last = PlatformError::Conflict(crate::Conflict::MyKeyIdTaken);
        for _ in 0..draws {
            let id = requested.unwrap_or_else(|| MyKeyId::random(&*self.rng));
            let log = match consent {
                Some(c) => NewLog::new(
                    kind,
                    json!({
                        "my_key_id": id.as_str(),
                        "items": c.items,
                        "terms_version": c.terms_version,
                    }),
                ),
                None => NewLog::new(kind, json!({ "my_key_id": id.as_str() })),
            };
            match self
                .store
                .change_my_key_id(s.person, change(id), self.clock.now(), &log, consent)
                .await?
            {
                Ok(()) => return Ok(id),
                Err(PlatformError::Conflict(crate::Conflict::MyKeyIdTaken)) => {
                    last = PlatformError::Conflict(crate::Conflict::MyKeyIdTaken)
                }
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}
