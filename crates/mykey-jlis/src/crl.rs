//! The CRL publisher: per CA generation, a complete CRL every `crl_period` and a delta CRL (RFC
//! 5280 §5.2.4) every `delta_crl_period`, numbered from one sequence. Published CRLs are stored
//! and served until the next.

use mykey_pki::issue::{CrlTemplate, build_crl};

use crate::store::Store;
use crate::{Jlis, JlisError};

impl Jlis {
    /// Publishes whatever is due (everything, if `force`).
    pub async fn publish_due_crls(&self, force: bool) -> Result<(), JlisError> {
        self.publish_crls(force, force).await
    }

    /// Publishes a delta CRL of every CA generation now (and a complete CRL only where one is
    /// due): what a relying party's software sees between two daily complete CRLs.
    pub async fn publish_delta_crls(&self) -> Result<(), JlisError> {
        self.publish_crls(false, true).await
    }

    async fn publish_crls(&self, force_full: bool, force_delta: bool) -> Result<(), JlisError> {
        let _one_at_a_time = self.publishing.lock().await;
        let now = self.clock.now();
        let generations = self.authority.read().all();
        for g in generations {
            if now > g.cert.not_after() {
                continue;
            }
            let mut full = self.db.latest_crl(g.id, false).await?;
            let full_due = match &full {
                None => true,
                Some(f) => force_full || now >= f.this_update.plus(self.config.crl_period),
            };
            if full_due {
                let entries = self
                    .db
                    .revoked_since(g.id, mykey_pki::UnixTime::from_secs(0), now)
                    .await?;
                let next_update = now.plus(self.config.crl_period);
                self.publish(&g, now, next_update, None, &entries).await?;
                full = self.db.latest_crl(g.id, false).await?;
            }
            let Some(full) = full else { continue };
            let delta_due = match self.db.latest_crl(g.id, true).await? {
                None => true,
                Some(d) => {
                    full_due
                        || force_delta
                        || now >= d.this_update.plus(self.config.delta_crl_period)
                }
            };
            if delta_due {
                let entries = self.db.revoked_since(g.id, full.this_update, now).await?;
                let next_update = now.plus(self.config.delta_crl_period);
                self.publish(&g, now, next_update, Some(full.number), &entries)
                    .await?;
            }
        }
        Ok(())
    }

    async fn publish(
        &self,
        g: &crate::CaGeneration,
        now: mykey_pki::UnixTime,
        next_update: mykey_pki::UnixTime,
        base: Option<u64>,
        entries: &[mykey_pki::CrlEntry],
    ) -> Result<(), JlisError> {
        let mut tx = self.db.pool.begin().await?;
        let number = Store::next_crl_number(&mut tx, g.id).await?;
        let der = build_crl(
            &g.key,
            &g.cert,
            &CrlTemplate {
                this_update: now,
                next_update,
                number,
                base_number: base,
                entries,
            },
        )
        .map_err(|e| JlisError::storage(format!("CRL signing failed: {e}")))?;
        Store::insert_crl(&mut tx, g.id, number, base, now, next_update, &der).await?;
        tx.commit().await?;
        tracing::info!(ca = %g.stem(), number, delta = base.is_some(), entries = entries.len(), "published CRL");
        Ok(())
    }

    /// The current complete or delta CRL (DER) of a generation named by its stem
    /// (`user-identification-g1`).
    pub async fn crl(&self, stem: &str, delta: bool) -> Result<Vec<u8>, JlisError> {
        let g = self
            .authority
            .read()
            .by_stem(stem)
            .ok_or_else(|| JlisError::NotFound {
                what: "CRL",
                id: stem.to_owned(),
            })?;
        let now = self.clock.now();
        let current = self.db.latest_crl(g.id, delta).await?;
        if current.as_ref().is_none_or(|c| now >= c.next_update) {
            self.publish_due_crls(false).await?;
        }
        self.db
            .latest_crl(g.id, delta)
            .await?
            .map(|c| c.der)
            .ok_or_else(|| JlisError::NotFound {
                what: "CRL",
                id: stem.to_owned(),
            })
    }
}
