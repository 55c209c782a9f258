//! The simulator's SQLite store: CA generations, persons, certificates and published CRLs.
//! Every write that is acknowledged is on disk (WAL, synchronous=FULL).

use std::path::Path;
use std::str::FromStr;

use mykey_pki::{IssuanceNumber, Purpose, RevocationReason, SealingKey, UnixTime};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};

use crate::JlisError;

/// The pool and the queries; CA private keys are sealed with `sealing` (kept outside the
/// database, see [`crate::Jlis::open`]).
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pub(crate) pool: SqlitePool,
    sealing: std::sync::Arc<SealingKey>,
}

/// What a CA generation's sealed keys are bound to (a key moved to another row does not open).
fn key_purpose(purpose: Purpose, generation: u32, which: &str) -> String {
    format!("jlis:ca:{}:g{generation}:{which}", purpose.slug())
}

/// One CA generation as stored.
#[derive(Debug)]
pub(crate) struct CaRow {
    pub(crate) id: i64,
    pub(crate) purpose: Purpose,
    pub(crate) generation: u32,
    pub(crate) key_pkcs8: Vec<u8>,
    pub(crate) cert_der: Vec<u8>,
    pub(crate) responder_key_pkcs8: Vec<u8>,
    pub(crate) responder_cert_der: Vec<u8>,
}

/// A person's registered facts.
#[derive(Clone, Debug)]
pub(crate) struct PersonRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) birth_date: String,
    pub(crate) sex: u8,
}

/// One certificate as stored.
#[derive(Clone, Debug)]
pub(crate) struct CertRow {
    pub(crate) serial: IssuanceNumber,
    pub(crate) purpose: Purpose,
    pub(crate) ca_id: i64,
    pub(crate) person_id: i64,
    pub(crate) not_before: UnixTime,
    pub(crate) not_after: UnixTime,
    pub(crate) revoked: Option<(UnixTime, RevocationReason)>,
    pub(crate) previous: Option<IssuanceNumber>,
    pub(crate) paired_signature: Option<IssuanceNumber>,
}

/// A certificate about to be inserted.
#[derive(Debug)]
pub(crate) struct NewCert<'a> {
    pub(crate) serial: IssuanceNumber,
    pub(crate) purpose: Purpose,
    pub(crate) ca_id: i64,
    pub(crate) person_id: i64,
    pub(crate) der: &'a [u8],
    pub(crate) not_before: UnixTime,
    pub(crate) not_after: UnixTime,
    pub(crate) issued_at: UnixTime,
    pub(crate) previous: Option<IssuanceNumber>,
    pub(crate) paired_signature: Option<IssuanceNumber>,
}

/// Serials are stored as SQLite INTEGER: the simulator issues 63-bit ones.
pub(crate) fn serial_to_db(s: IssuanceNumber) -> Result<i64, JlisError> {
    s.to_u64()
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| JlisError::NotFound {
            what: "certificate",
            id: s.to_string(),
        })
}

fn serial_from_db(v: i64) -> IssuanceNumber {
    // The CHECK (serial > 0) constraint guarantees a positive value.
    IssuanceNumber::from_u64(v as u64).expect("stored serials are positive")
}

fn purpose_from_db(s: &str) -> Purpose {
    // The CHECK constraint admits only the two slugs.
    Purpose::from_slug(s).expect("stored purposes are valid")
}

macro_rules! cert_columns {
    () => {
        "serial, purpose, ca_id, person_id, not_before, not_after, revoked_at, reason, previous_serial, paired_signature"
    };
}

fn cert_row(r: &sqlx::sqlite::SqliteRow) -> CertRow {
    let revoked_at: Option<i64> = r.get("revoked_at");
    let reason: Option<i64> = r.get("reason");
    CertRow {
        serial: serial_from_db(r.get("serial")),
        purpose: purpose_from_db(r.get::<&str, _>("purpose")),
        ca_id: r.get("ca_id"),
        person_id: r.get("person_id"),
        not_before: UnixTime::from_secs(r.get::<i64, _>("not_before") as u64),
        not_after: UnixTime::from_secs(r.get::<i64, _>("not_after") as u64),
        revoked: revoked_at.zip(reason).map(|(t, c)| {
            (
                UnixTime::from_secs(t as u64),
                RevocationReason::from_code(c as u8).unwrap_or(RevocationReason::Unspecified),
            )
        }),
        previous: r
            .get::<Option<i64>, _>("previous_serial")
            .map(serial_from_db),
        paired_signature: r
            .get::<Option<i64>, _>("paired_signature")
            .map(serial_from_db),
    }
}

impl Store {
    pub(crate) async fn open(path: &Path, sealing: SealingKey) -> Result<Self, JlisError> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(JlisError::from)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| JlisError::storage(e.to_string()))?;
        let store = Self {
            pool,
            sealing: std::sync::Arc::new(sealing),
        };
        store.seal_plain_keys().await?;
        Ok(store)
    }

    /// Seals CA keys stored in the clear by versions before keys were sealed (once).
    async fn seal_plain_keys(&self) -> Result<(), JlisError> {
        let rows = sqlx::query(
            "SELECT id, purpose, generation, key_pkcs8, responder_key_pkcs8 FROM ca_generations",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut sealed_some = false;
        for r in rows {
            let (key, responder): (Vec<u8>, Vec<u8>) =
                (r.get("key_pkcs8"), r.get("responder_key_pkcs8"));
            if SealingKey::is_sealed(&key) && SealingKey::is_sealed(&responder) {
                continue;
            }
            sealed_some = true;
            let purpose = purpose_from_db(r.get::<&str, _>("purpose"));
            let generation = r.get::<i64, _>("generation") as u32;
            sqlx::query(
                "UPDATE ca_generations SET key_pkcs8 = ?, responder_key_pkcs8 = ? WHERE id = ?",
            )
            .bind(self.seal(purpose, generation, "key", &key)?)
            .bind(self.seal(purpose, generation, "responder-key", &responder)?)
            .bind(r.get::<i64, _>("id"))
            .execute(&self.pool)
            .await?;
        }
        if sealed_some {
            // The keys in the clear must not linger in free pages or the WAL.
            sqlx::query("VACUUM").execute(&self.pool).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Seals a CA generation's key (a sealed one is left as it is).
    fn seal(
        &self,
        purpose: Purpose,
        generation: u32,
        which: &str,
        key: &[u8],
    ) -> Result<Vec<u8>, JlisError> {
        if SealingKey::is_sealed(key) {
            return Ok(key.to_vec());
        }
        self.sealing
            .seal(&key_purpose(purpose, generation, which), key)
            .map_err(|e| JlisError::storage(e.to_string()))
    }

    fn unseal(
        &self,
        purpose: Purpose,
        generation: u32,
        which: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, JlisError> {
        self.sealing
            .open(&key_purpose(purpose, generation, which), sealed)
            .map_err(|e| {
                JlisError::storage(format!(
                    "the {} CA's generation {generation} {which}: {e} (is secrets.key the one \
                     this store was made with?)",
                    purpose.slug()
                ))
            })
    }

    pub(crate) async fn ca_rows(&self) -> Result<Vec<CaRow>, JlisError> {
        let rows = sqlx::query(
            "SELECT id, purpose, generation, key_pkcs8, cert_der, responder_key_pkcs8, responder_cert_der
             FROM ca_generations ORDER BY purpose, generation",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let purpose = purpose_from_db(r.get::<&str, _>("purpose"));
                let generation = r.get::<i64, _>("generation") as u32;
                Ok(CaRow {
                    id: r.get("id"),
                    purpose,
                    generation,
                    key_pkcs8: self.unseal(purpose, generation, "key", r.get("key_pkcs8"))?,
                    cert_der: r.get("cert_der"),
                    responder_key_pkcs8: self.unseal(
                        purpose,
                        generation,
                        "responder-key",
                        r.get("responder_key_pkcs8"),
                    )?,
                    responder_cert_der: r.get("responder_cert_der"),
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)] // one row, every column named at the call
    pub(crate) async fn insert_ca(
        &self,
        purpose: Purpose,
        generation: u32,
        key_pkcs8: &[u8],
        cert_der: &[u8],
        responder_key_pkcs8: &[u8],
        responder_cert_der: &[u8],
        not_before: UnixTime,
        not_after: UnixTime,
    ) -> Result<i64, JlisError> {
        let id = sqlx::query(
            "INSERT INTO ca_generations (purpose, generation, key_pkcs8, cert_der, responder_key_pkcs8,
                 responder_cert_der, not_before, not_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(purpose.slug())
        .bind(i64::from(generation))
        .bind(self.seal(purpose, generation, "key", key_pkcs8)?)
        .bind(cert_der)
        .bind(self.seal(purpose, generation, "responder-key", responder_key_pkcs8)?)
        .bind(responder_cert_der)
        .bind(not_before.as_secs() as i64)
        .bind(not_after.as_secs() as i64)
        .fetch_one(&self.pool)
        .await?
        .get(0);
        Ok(id)
    }

    /// The ticket-item signing key (PKCS#8), made and stored sealed on first use.
    pub(crate) async fn ticket_item_key(&self, now: UnixTime) -> Result<Vec<u8>, JlisError> {
        const PURPOSE: &str = "jlis:ticket-item-key";
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT key_pkcs8 FROM ticket_item_key WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        if let Some(sealed) = stored {
            return self.sealing.open(PURPOSE, &sealed).map_err(|e| {
                JlisError::storage(format!(
                    "the ticket-item key: {e} (is secrets.key the one this store was made with?)"
                ))
            });
        }
        let pki = |e: mykey_pki::Error| JlisError::storage(format!("ticket-item key: {e}"));
        let key = mykey_pki::issue::SigningKey::generate()
            .and_then(|k| k.to_pkcs8())
            .map_err(pki)?;
        let sealed = self
            .sealing
            .seal(PURPOSE, &key)
            .map_err(|e| JlisError::storage(e.to_string()))?;
        // Two simulators opening one new store at once: the first key written wins.
        sqlx::query(
            "INSERT INTO ticket_item_key (id, key_pkcs8, created_at) VALUES (1, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(sealed)
        .bind(now.as_secs() as i64)
        .execute(&self.pool)
        .await?;
        Box::pin(self.ticket_item_key(now)).await
    }

    /// Takes the next CRL number of a CA.
    pub(crate) async fn next_crl_number(
        conn: &mut SqliteConnection,
        ca_id: i64,
    ) -> Result<u64, JlisError> {
        let n: i64 = sqlx::query(
            "UPDATE ca_generations SET crl_number = crl_number + 1 WHERE id = ? RETURNING crl_number",
        )
        .bind(ca_id)
        .fetch_one(&mut *conn)
        .await?
        .get(0);
        Ok(n as u64)
    }

    pub(crate) async fn insert_person(
        conn: &mut SqliteConnection,
        name: &str,
        address: &str,
        birth_date: &str,
        sex: u8,
        now: UnixTime,
    ) -> Result<i64, JlisError> {
        Ok(sqlx::query(
            "INSERT INTO persons (name, address, birth_date, sex, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(address)
        .bind(birth_date)
        .bind(i64::from(sex))
        .bind(now.as_secs() as i64)
        .fetch_one(&mut *conn)
        .await?
        .get(0))
    }

    pub(crate) async fn person(
        conn: &mut SqliteConnection,
        id: i64,
    ) -> Result<PersonRow, JlisError> {
        let r = sqlx::query("SELECT id, name, address, birth_date, sex FROM persons WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        Ok(PersonRow {
            id: r.get("id"),
            name: r.get("name"),
            address: r.get("address"),
            birth_date: r.get("birth_date"),
            sex: r.get::<i64, _>("sex") as u8,
        })
    }

    /// The ID of the ticket-item data last written to the person's card, if any.
    pub(crate) async fn ticket_item_id(
        conn: &mut SqliteConnection,
        person: i64,
    ) -> Result<Option<Vec<u8>>, JlisError> {
        Ok(
            sqlx::query_scalar("SELECT ticket_item_id FROM persons WHERE id = ?")
                .bind(person)
                .fetch_one(&mut *conn)
                .await?,
        )
    }

    /// Records the ID of the ticket-item data written to the person's card now.
    pub(crate) async fn set_ticket_item_id(
        conn: &mut SqliteConnection,
        person: i64,
        id: &[u8],
    ) -> Result<(), JlisError> {
        sqlx::query("UPDATE persons SET ticket_item_id = ? WHERE id = ?")
            .bind(id)
            .bind(person)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub(crate) async fn update_person(
        conn: &mut SqliteConnection,
        p: &PersonRow,
    ) -> Result<(), JlisError> {
        sqlx::query(
            "UPDATE persons SET name = ?, address = ?, birth_date = ?, sex = ? WHERE id = ?",
        )
        .bind(&p.name)
        .bind(&p.address)
        .bind(&p.birth_date)
        .bind(i64::from(p.sex))
        .bind(p.id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Inserts a certificate; `Ok(false)` when the serial is taken (the caller draws another).
    pub(crate) async fn insert_cert(
        conn: &mut SqliteConnection,
        c: &NewCert<'_>,
    ) -> Result<bool, JlisError> {
        let result = sqlx::query(
            "INSERT INTO certificates (serial, purpose, ca_id, person_id, der, not_before, not_after,
                 issued_at, issued_seq, previous_serial, paired_signature)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(issued_seq), 0) + 1 FROM certificates), ?, ?)
             ON CONFLICT (serial) DO NOTHING",
        )
        .bind(serial_to_db(c.serial)?)
        .bind(c.purpose.slug())
        .bind(c.ca_id)
        .bind(c.person_id)
        .bind(c.der)
        .bind(c.not_before.as_secs() as i64)
        .bind(c.not_after.as_secs() as i64)
        .bind(c.issued_at.as_secs() as i64)
        .bind(c.previous.map(serial_to_db).transpose()?)
        .bind(c.paired_signature.map(serial_to_db).transpose()?)
        .execute(&mut *conn)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Whether a serial is free (nothing issued under it).
    pub(crate) async fn serial_free(
        conn: &mut SqliteConnection,
        serial: IssuanceNumber,
    ) -> Result<bool, JlisError> {
        let n: i64 = sqlx::query("SELECT count(*) FROM certificates WHERE serial = ?")
            .bind(serial_to_db(serial)?)
            .fetch_one(&mut *conn)
            .await?
            .get(0);
        Ok(n == 0)
    }

    /// Whether a renewal already names `serial` as its predecessor.
    pub(crate) async fn has_successor(
        conn: &mut SqliteConnection,
        serial: IssuanceNumber,
    ) -> Result<bool, JlisError> {
        let n: i64 = sqlx::query("SELECT count(*) FROM certificates WHERE previous_serial = ?")
            .bind(serial_to_db(serial)?)
            .fetch_one(&mut *conn)
            .await?
            .get(0);
        Ok(n > 0)
    }

    /// Status for the OCSP responder: (issuing CA, revocation), if the serial was issued.
    pub(crate) async fn status(
        &self,
        serial: IssuanceNumber,
    ) -> Result<Option<(i64, Option<(UnixTime, RevocationReason)>)>, JlisError> {
        let Ok(key) = serial_to_db(serial) else {
            return Ok(None);
        };
        let row =
            sqlx::query("SELECT ca_id, revoked_at, reason FROM certificates WHERE serial = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| {
            let revoked_at: Option<i64> = r.get("revoked_at");
            let reason: Option<i64> = r.get("reason");
            let revoked = revoked_at.zip(reason).map(|(t, c)| {
                (
                    UnixTime::from_secs(t as u64),
                    RevocationReason::from_code(c as u8).unwrap_or(RevocationReason::Unspecified),
                )
            });
            (r.get("ca_id"), revoked)
        }))
    }

    pub(crate) async fn cert(
        conn: &mut SqliteConnection,
        serial: IssuanceNumber,
    ) -> Result<Option<CertRow>, JlisError> {
        let Ok(key) = serial_to_db(serial) else {
            return Ok(None);
        };
        let row = sqlx::query(concat!(
            "SELECT ",
            cert_columns!(),
            " FROM certificates WHERE serial = ?"
        ))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.as_ref().map(cert_row))
    }

    /// The newest certificate of `purpose` issued to a person.
    pub(crate) async fn latest_cert(
        conn: &mut SqliteConnection,
        person_id: i64,
        purpose: Purpose,
    ) -> Result<Option<CertRow>, JlisError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            cert_columns!(),
            " FROM certificates WHERE person_id = ? AND purpose = ? ORDER BY issued_seq DESC LIMIT 1"
        ))
        .bind(person_id)
        .bind(purpose.slug())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.as_ref().map(cert_row))
    }

    /// Records a revocation; `Ok(false)` if it was already revoked.
    pub(crate) async fn revoke(
        conn: &mut SqliteConnection,
        serial: IssuanceNumber,
        at: UnixTime,
        reason: RevocationReason,
    ) -> Result<bool, JlisError> {
        let r = sqlx::query(
            "UPDATE certificates SET revoked_at = ?, reason = ? WHERE serial = ? AND revoked_at IS NULL",
        )
        .bind(at.as_secs() as i64)
        .bind(i64::from(reason.code()))
        .bind(serial_to_db(serial)?)
        .execute(&mut *conn)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Revoked, unexpired certificates of a CA revoked at or after `since`.
    pub(crate) async fn revoked_since(
        &self,
        ca_id: i64,
        since: UnixTime,
        now: UnixTime,
    ) -> Result<Vec<mykey_pki::CrlEntry>, JlisError> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, reason FROM certificates
             WHERE ca_id = ? AND revoked_at IS NOT NULL AND revoked_at >= ? AND not_after >= ?
             ORDER BY serial",
        )
        .bind(ca_id)
        .bind(since.as_secs() as i64)
        .bind(now.as_secs() as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| mykey_pki::CrlEntry {
                serial: serial_from_db(r.get("serial")),
                revoked_at: UnixTime::from_secs(r.get::<i64, _>("revoked_at") as u64),
                reason: RevocationReason::from_code(r.get::<i64, _>("reason") as u8),
            })
            .collect())
    }

    pub(crate) async fn insert_crl(
        conn: &mut SqliteConnection,
        ca_id: i64,
        number: u64,
        base: Option<u64>,
        this_update: UnixTime,
        next_update: UnixTime,
        der: &[u8],
    ) -> Result<(), JlisError> {
        sqlx::query(
            "INSERT INTO crls (ca_id, number, base_number, this_update, next_update, der) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(ca_id)
        .bind(number as i64)
        .bind(base.map(|b| b as i64))
        .bind(this_update.as_secs() as i64)
        .bind(next_update.as_secs() as i64)
        .bind(der)
        .execute(&mut *conn)
        .await?;
        // Keep the newest few of each kind; older ones are of no use to anyone.
        sqlx::query(
            "DELETE FROM crls WHERE ca_id = ? AND (base_number IS NULL) = (? IS NULL) AND number NOT IN
               (SELECT number FROM crls WHERE ca_id = ? AND (base_number IS NULL) = (? IS NULL)
                ORDER BY number DESC LIMIT 3)",
        )
        .bind(ca_id)
        .bind(base.map(|b| b as i64))
        .bind(ca_id)
        .bind(base.map(|b| b as i64))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// The newest CRL of a CA: complete (`delta == false`) or delta.
    pub(crate) async fn latest_crl(
        &self,
        ca_id: i64,
        delta: bool,
    ) -> Result<Option<StoredCrl>, JlisError> {
        let row = sqlx::query(
            "SELECT number, base_number, this_update, next_update, der FROM crls
             WHERE ca_id = ? AND (base_number IS NOT NULL) = ? ORDER BY number DESC LIMIT 1",
        )
        .bind(ca_id)
        .bind(delta)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| StoredCrl {
            number: r.get::<i64, _>("number") as u64,
            this_update: UnixTime::from_secs(r.get::<i64, _>("this_update") as u64),
            next_update: UnixTime::from_secs(r.get::<i64, _>("next_update") as u64),
            der: r.get("der"),
        }))
    }
}

/// A published CRL.
#[derive(Clone, Debug)]
pub(crate) struct StoredCrl {
    pub(crate) number: u64,
    pub(crate) this_update: UnixTime,
    pub(crate) next_update: UnixTime,
    pub(crate) der: Vec<u8>,
}
