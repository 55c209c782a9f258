//! What J-LIS does to certificates: issue a pair, renew, revoke, re-issue the signature
//! certificate when the four facts change, and answer the docs/jpki.md §18 services.
//! Every change is one transaction.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mykey_pki::issue::{EndEntity, Urls, end_entity_certificate};
use mykey_pki::{
    BirthDate, FourFacts, IssuanceNumber, Purpose, RevocationReason, RsaPublicKey, Sex, UnixTime,
};
use sqlx::SqliteConnection;
use time::Date;

use crate::api::{
    CertificateState, ChangeFactsRequest, IssueRequest, IssuedCertificates,
    PreviousIssuanceNumbers, RenewRequest, RevokeRequest, SignatureCertificateStatus,
    TicketItemCheck, TicketItemSignature, TicketItemStatus,
};
use crate::authority::{CaGeneration, random_serial};
use crate::store::{CertRow, NewCert, PersonRow, Store};
use crate::validity::{age_on, certificate_not_after};
use crate::{Jlis, JlisError};
use mykey_pki::ticket::{TICKET_ITEM_ID_LEN, TicketFacts, TicketSignature};

const DATE: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Jlis {
    /// Certifies a new card's keys for a new person.
    pub async fn issue(&self, req: &IssueRequest) -> Result<IssuedCertificates, JlisError> {
        let now = self.clock.now();
        let birth = parse_date("birth_date", &req.birth_date)?;
        let facts = facts(&req.name, &req.address, birth, req.sex)?;
        let (ui_key, sig_key) = keys(
            &req.user_identification_public_key,
            req.signature_public_key.as_deref(),
        )?;
        check_age(birth, now, sig_key.is_some())?;
        let mut tx = self.db.pool.begin().await?;
        let person = Store::insert_person(
            &mut tx,
            &req.name,
            &req.address,
            &req.birth_date,
            req.sex,
            now,
        )
        .await?;
        let (number, ui, sig) = self
            .issue_pair(
                &mut tx,
                person,
                &ui_key,
                sig_key.as_ref(),
                &facts,
                None,
                birth,
                now,
            )
            .await?;
        let ticket = self.write_ticket_items(&mut tx, person, &facts).await?;
        tx.commit().await?;
        Ok(self.issued(number, Some(ui), sig, ticket))
    }

    /// Renews: a new pair for the same person, the old user-identification certificate revoked as
    /// superseded (and the signature certificate too), the previous-number link recorded.
    pub async fn renew(&self, req: &RenewRequest) -> Result<IssuedCertificates, JlisError> {
        let now = self.clock.now();
        let old_number = issuance_number(&req.issuance_number)?;
        let (ui_key, sig_key) = keys(
            &req.user_identification_public_key,
            req.signature_public_key.as_deref(),
        )?;
        let mut tx = self.db.pool.begin().await?;
        let old = user_identification(&mut tx, old_number).await?;
        if Store::has_successor(&mut tx, old.serial).await? {
            return Err(JlisError::Conflict(format!(
                "{old_number} was already renewed"
            )));
        }
        let person = Store::person(&mut tx, old.person_id).await?;
        let birth = parse_date("birth_date", &person.birth_date)?;
        check_age(birth, now, sig_key.is_some())?;
        let facts = facts(&person.name, &person.address, birth, person.sex)?;
        let old_sig = Store::latest_cert(&mut tx, person.id, Purpose::Signature).await?;
        let (number, ui, sig) = self
            .issue_pair(
                &mut tx,
                person.id,
                &ui_key,
                sig_key.as_ref(),
                &facts,
                Some(old.serial),
                birth,
                now,
            )
            .await?;
        Store::revoke(&mut tx, old.serial, now, RevocationReason::Superseded).await?;
        if let Some(s) = &old_sig {
            Store::revoke(&mut tx, s.serial, now, RevocationReason::Superseded).await?;
        }
        let ticket = self.write_ticket_items(&mut tx, person.id, &facts).await?;
        tx.commit().await?;
        self.evict(&old);
        if let Some(s) = &old_sig {
            self.evict(s);
        }
        Ok(self.issued(number, Some(ui), sig, ticket))
    }

    /// Revokes one certificate.
    pub async fn revoke(&self, req: &RevokeRequest) -> Result<CertificateState, JlisError> {
        let now = self.clock.now();
        let serial = issuance_number(&req.serial)?;
        let reason = RevocationReason::from_name(&req.reason)
            .filter(|r| *r != RevocationReason::RemoveFromCrl)
            .ok_or_else(|| {
                JlisError::invalid("reason", format!("unknown reason {:?}", req.reason))
            })?;
        let mut tx = self.db.pool.begin().await?;
        let cert = Store::cert(&mut tx, serial)
            .await?
            .ok_or_else(|| JlisError::NotFound {
                what: "certificate",
                id: req.serial.clone(),
            })?;
        if !Store::revoke(&mut tx, serial, now, reason).await? {
            return Err(JlisError::Conflict(format!(
                "certificate {serial} is already revoked"
            )));
        }
        let cert = Store::cert(&mut tx, serial).await?.unwrap_or(cert);
        tx.commit().await?;
        self.evict(&cert);
        Ok(state(&cert, now))
    }

    /// A change of the four facts: the signature certificate is revoked as affiliationChanged and
    /// a new one issued for the new facts; the user-identification certificate is untouched.
    pub async fn change_facts(
        &self,
        req: &ChangeFactsRequest,
    ) -> Result<IssuedCertificates, JlisError> {
        let now = self.clock.now();
        let number = issuance_number(&req.issuance_number)?;
        let sig_key = public_key("signature_public_key", &req.signature_public_key)?;
        let mut tx = self.db.pool.begin().await?;
        let ui = user_identification(&mut tx, number).await?;
        let old = Store::person(&mut tx, ui.person_id).await?;
        let new = PersonRow {
            id: old.id,
            name: req.name.clone().unwrap_or_else(|| old.name.clone()),
            address: req.address.clone().unwrap_or_else(|| old.address.clone()),
            birth_date: req
                .birth_date
                .clone()
                .unwrap_or_else(|| old.birth_date.clone()),
            sex: req.sex.unwrap_or(old.sex),
        };
        if (&new.name, &new.address, &new.birth_date, new.sex)
            == (&old.name, &old.address, &old.birth_date, old.sex)
        {
            return Err(JlisError::invalid(
                "facts",
                "none of the four facts changed",
            ));
        }
        let birth = parse_date("birth_date", &new.birth_date)?;
        check_age(birth, now, true)?;
        let facts = facts(&new.name, &new.address, birth, new.sex)?;
        let old_sig = Store::latest_cert(&mut tx, old.id, Purpose::Signature).await?;
        if let Some(s) = &old_sig {
            Store::revoke(&mut tx, s.serial, now, RevocationReason::AffiliationChanged).await?;
        }
        let sig = self
            .issue_one(
                &mut tx,
                Purpose::Signature,
                old.id,
                &sig_key,
                Some(&facts),
                None,
                None,
                birth,
                now,
            )
            .await?;
        Store::update_person(&mut tx, &new).await?;
        let ticket = self.write_ticket_items(&mut tx, old.id, &facts).await?;
        tx.commit().await?;
        if let Some(s) = &old_sig {
            self.evict(s);
        }
        Ok(self.issued(number, None, Some(sig.1), ticket))
    }

    /// A certificate's state.
    pub async fn certificate(&self, serial: &str) -> Result<CertificateState, JlisError> {
        let n = issuance_number(serial)?;
        let mut conn = self.db.pool.acquire().await?;
        let cert = Store::cert(&mut conn, n)
            .await?
            .ok_or_else(|| JlisError::NotFound {
                what: "certificate",
                id: serial.to_owned(),
            })?;
        Ok(state(&cert, self.clock.now()))
    }

    /// The earlier user-identification issuance numbers of the same person, newest first.
    pub async fn previous_issuance_numbers(
        &self,
        number: &str,
    ) -> Result<PreviousIssuanceNumbers, JlisError> {
        let n = issuance_number(number)?;
        let mut conn = self.db.pool.acquire().await?;
        let mut cert = user_identification(&mut conn, n).await?;
        let mut previous = Vec::new();
        while let Some(p) = cert.previous {
            previous.push(p.to_string());
            cert = user_identification(&mut conn, p).await?;
        }
        Ok(PreviousIssuanceNumbers {
            issuance_number: n.to_string(),
            previous,
        })
    }

    /// The signature certificate issued with a user-identification certificate, and the newest.
    pub async fn signature_certificate_status(
        &self,
        number: &str,
    ) -> Result<SignatureCertificateStatus, JlisError> {
        let now = self.clock.now();
        let n = issuance_number(number)?;
        let mut conn = self.db.pool.acquire().await?;
        let ui = user_identification(&mut conn, n).await?;
        let paired = match ui.paired_signature {
            Some(s) => Store::cert(&mut conn, s).await?,
            None => None,
        };
        let current = Store::latest_cert(&mut conn, ui.person_id, Purpose::Signature).await?;
        Ok(SignatureCertificateStatus {
            issuance_number: n.to_string(),
            paired: paired.map(|c| state(&c, now)),
            current: current.map(|c| state(&c, now)),
        })
    }

    /// Adds the next generation of a CA under the same name; both stay trusted.
    pub async fn rollover(&self, purpose: Purpose) -> Result<Arc<CaGeneration>, JlisError> {
        let next = self.authority.read().current(purpose).generation + 1;
        let g = crate::authority::create_generation(
            &self.db,
            &self.config,
            purpose,
            next,
            self.clock.now(),
        )
        .await?;
        let g = self.authority.write().add(g);
        self.publish_due_crls(false).await?;
        Ok(g)
    }

    /// Issues a person's pair: the signature certificate (when a key is given) and the
    /// user-identification certificate paired with it, `previous` naming the number it renews.
    #[allow(clippy::too_many_arguments)] // the pair's every input, named at both calls
    async fn issue_pair(
        &self,
        conn: &mut SqliteConnection,
        person: i64,
        ui_key: &RsaPublicKey,
        sig_key: Option<&RsaPublicKey>,
        facts: &FourFacts,
        previous: Option<IssuanceNumber>,
        birth: Date,
        now: UnixTime,
    ) -> Result<(IssuanceNumber, Vec<u8>, Option<Vec<u8>>), JlisError> {
        let sig = match sig_key {
            Some(k) => Some(
                self.issue_one(
                    conn,
                    Purpose::Signature,
                    person,
                    k,
                    Some(facts),
                    None,
                    None,
                    birth,
                    now,
                )
                .await?,
            ),
            None => None,
        };
        let paired = sig.as_ref().map(|(s, _)| *s);
        let (number, ui) = self
            .issue_one(
                conn,
                Purpose::UserIdentification,
                person,
                ui_key,
                None,
                previous,
                paired,
                birth,
                now,
            )
            .await?;
        Ok((number, ui, sig.map(|(_, der)| der)))
    }

    /// Issues one certificate from the current generation, drawing serials until one is free.
    #[allow(clippy::too_many_arguments)] // every field of the certificate, named at each call
    async fn issue_one(
        &self,
        conn: &mut SqliteConnection,
        purpose: Purpose,
        person_id: i64,
        key: &RsaPublicKey,
        facts: Option<&FourFacts>,
        previous: Option<IssuanceNumber>,
        paired_signature: Option<IssuanceNumber>,
        birth: Date,
        now: UnixTime,
    ) -> Result<(IssuanceNumber, Vec<u8>), JlisError> {
        let ca = self.authority.read().current(purpose);
        let base = self.config.base_url.trim_end_matches('/');
        let stem = ca.stem();
        let urls = Urls {
            ocsp: Some(format!("{base}/ocsp/{}", purpose.slug())),
            ca_issuers: Some(format!("{base}/ca/{stem}.der")),
            crl: Some(format!("{base}/crl/{stem}.crl")),
            delta_crl: Some(format!("{base}/crl/{stem}-delta.crl")),
        };
        let spki = spki_of(key);
        let not_after = certificate_not_after(birth, now).min(ca.cert.not_after());
        loop {
            let serial = random_serial();
            if !Store::serial_free(conn, serial).await? {
                continue;
            }
            let cn = format!("{:016X}", random_serial().to_u64().unwrap_or(0));
            let der = end_entity_certificate(
                &ca.key,
                &ca.cert,
                &EndEntity {
                    purpose,
                    serial,
                    subject_cn: &cn,
                    spki_der: &spki,
                    not_before: now.minus(60),
                    not_after,
                    facts,
                    urls: &urls,
                },
            )
            .map_err(|e| JlisError::invalid("certificate", e))?;
            let row = NewCert {
                serial,
                purpose,
                ca_id: ca.id,
                person_id,
                der: &der,
                not_before: now.minus(60),
                not_after,
                issued_at: now,
                previous,
                paired_signature,
            };
            if Store::insert_cert(conn, &row).await? {
                return Ok((serial, der));
            }
        }
    }

    /// Writes `facts` to the person's card's ticket-item AP (file `0002`) under a new ID, and
    /// answers J-LIS's signature over them (file `0003`); `None` for facts the AP's format
    /// cannot hold (nothing is recorded then, and no earlier data stays current).
    async fn write_ticket_items(
        &self,
        conn: &mut SqliteConnection,
        person: i64,
        facts: &FourFacts,
    ) -> Result<Option<TicketItemSignature>, JlisError> {
        let mut id = [0u8; TICKET_ITEM_ID_LEN];
        // The system RNG failing is not recoverable for a CA.
        aws_lc_rs::rand::fill(&mut id).expect("system randomness");
        let Some(file) = ticket_file(facts) else {
            Store::set_ticket_item_id(conn, person, &[]).await?;
            return Ok(None);
        };
        Store::set_ticket_item_id(conn, person, &id).await?;
        let signed = TicketSignature::sign(&self.ticket_key, &file, id);
        let (facts_digest, item_id, signature) = signed.to_text();
        Ok(Some(TicketItemSignature {
            facts_digest,
            item_id,
            signature,
        }))
    }

    /// Whether `check` is J-LIS's signature over the ticket-item facts of the holder of
    /// user-identification certificate `number`, as they are now.
    pub async fn ticket_item_status(
        &self,
        number: &str,
        check: &TicketItemCheck,
    ) -> Result<TicketItemStatus, JlisError> {
        let n = issuance_number(number)?;
        let signed =
            TicketSignature::from_text(&check.facts_digest, &check.item_id, &check.signature)
                .map_err(|e| JlisError::invalid("ticket_item", e.to_string()))?;
        let mut conn = self.db.pool.acquire().await?;
        let ui = user_identification(&mut conn, n).await?;
        let person = Store::person(&mut conn, ui.person_id).await?;
        let status = if signed.verify(self.ticket_key.public_key()).is_err() {
            "invalid"
        } else if state(&ui, self.clock.now()).status != "good" {
            // J-LIS knows of a revocation at once; a verifier's CRL may be a minute behind.
            "revoked"
        } else {
            let birth = parse_date("birth_date", &person.birth_date)?;
            let now = facts(&person.name, &person.address, birth, person.sex)?;
            let written = Store::ticket_item_id(&mut conn, person.id).await?;
            let same_facts = ticket_file(&now).is_some_and(|f| signed.covers(&f));
            if same_facts && written.as_deref() == Some(&signed.item_id()[..]) {
                "current"
            } else {
                "outdated"
            }
        };
        Ok(TicketItemStatus {
            issuance_number: n.to_string(),
            status: status.to_owned(),
        })
    }

    fn issued(
        &self,
        number: IssuanceNumber,
        ui: Option<Vec<u8>>,
        sig: Option<Vec<u8>>,
        ticket_item_signature: Option<TicketItemSignature>,
    ) -> IssuedCertificates {
        let authority = self.authority.read();
        IssuedCertificates {
            issuance_number: number.to_string(),
            user_identification_certificate: ui.map(|d| B64.encode(d)),
            signature_certificate: sig.map(|d| B64.encode(d)),
            user_identification_ca: B64
                .encode(authority.current(Purpose::UserIdentification).cert.der()),
            signature_ca: B64.encode(authority.current(Purpose::Signature).cert.der()),
            ticket_item_signature,
        }
    }

    fn evict(&self, cert: &CertRow) {
        self.ocsp_cache.evict(cert.ca_id, cert.serial);
    }
}

async fn user_identification(
    conn: &mut SqliteConnection,
    n: IssuanceNumber,
) -> Result<CertRow, JlisError> {
    Store::cert(conn, n)
        .await?
        .filter(|c| c.purpose == Purpose::UserIdentification)
        .ok_or_else(|| JlisError::NotFound {
            what: "user-identification certificate",
            id: n.to_string(),
        })
}

fn state(c: &CertRow, now: UnixTime) -> CertificateState {
    let status = match (&c.revoked, now > c.not_after) {
        (Some(_), _) => "revoked",
        (None, true) => "expired",
        (None, false) => "good",
    };
    CertificateState {
        serial: c.serial.to_string(),
        purpose: c.purpose.slug().to_owned(),
        status: status.to_owned(),
        not_before: rfc3339(c.not_before),
        not_after: rfc3339(c.not_after),
        revoked_at: c.revoked.map(|(t, _)| rfc3339(t)),
        reason: c.revoked.map(|(_, r)| r.name().to_owned()),
    }
}

/// RFC 3339 in UTC.
pub(crate) fn rfc3339(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.as_secs() as i64)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn issuance_number(s: &str) -> Result<IssuanceNumber, JlisError> {
    s.parse().map_err(|_| {
        JlisError::invalid(
            "issuance_number",
            format!("{s:?} is not a hexadecimal serial number"),
        )
    })
}

fn parse_date(field: &'static str, s: &str) -> Result<Date, JlisError> {
    Date::parse(s, DATE).map_err(|_| JlisError::invalid(field, format!("{s:?} is not YYYY-MM-DD")))
}

fn facts(name: &str, address: &str, birth: Date, sex: u8) -> Result<FourFacts, JlisError> {
    let sex =
        Sex::from_iso5218(sex).ok_or_else(|| JlisError::invalid("sex", "must be 1, 2 or 9"))?;
    FourFacts::new(name, address, BirthDate::new(birth), sex)
        .map_err(|e| JlisError::invalid("facts", e))
}

/// The user-identification key and the optional signature key of a request.
fn keys(ui: &str, sig: Option<&str>) -> Result<(RsaPublicKey, Option<RsaPublicKey>), JlisError> {
    Ok((
        public_key("user_identification_public_key", ui)?,
        sig.map(|k| public_key("signature_public_key", k))
            .transpose()?,
    ))
}

fn public_key(field: &'static str, b64: &str) -> Result<RsaPublicKey, JlisError> {
    let der = B64
        .decode(b64)
        .map_err(|_| JlisError::invalid(field, "not base64"))?;
    RsaPublicKey::from_spki_der(&der).map_err(|e| JlisError::invalid(field, e))
}

fn spki_of(key: &RsaPublicKey) -> Vec<u8> {
    use der::Encode;
    spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: mykey_pki::oid::RSA_ENCRYPTION,
            parameters: Some(der::asn1::Null.into()),
        },
        subject_public_key: der::asn1::BitString::from_bytes(key.pkcs1_der())
            .expect("key bits fit a BIT STRING"),
    }
    .to_der()
    .expect("SubjectPublicKeyInfo encodes")
}

fn check_age(birth: Date, now: UnixTime, wants_signature: bool) -> Result<(), JlisError> {
    let today = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
        .map(|d| d.date())
        .unwrap_or(Date::MIN);
    let age = age_on(birth, today);
    if age < 0 {
        return Err(JlisError::invalid("birth_date", "in the future"));
    }
    if wants_signature && age < 15 {
        return Err(JlisError::UnderFifteen);
    }
    Ok(())
}

/// File `0002` for `facts`, as the ticket-item AP keeps them; `None` for facts its format
/// cannot hold.
fn ticket_file(facts: &FourFacts) -> Option<Vec<u8>> {
    TicketFacts::new(
        facts.name(),
        facts.address(),
        facts.birth_date().date(),
        facts.sex(),
    )
    .ok()
    .map(|f| f.to_tlv())
}
