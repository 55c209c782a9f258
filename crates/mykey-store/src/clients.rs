//! Relying parties as OAuth clients: their registered keys (`private_key_jwt`) and the access
//! tokens the token endpoint gives them. The SQL shared by both backends, stamped out as
//! inherent methods that the `Store` implementation in `backend.rs` calls.

macro_rules! clients_impl {
    ($store:ty, $db:ty, begin: $begin:expr) => {
        impl $store {
            async fn jwks_of(&self, id: RelyingPartyId) -> Result<Option<String>, StoreError> {
                let row = sqlx::query("SELECT jwks FROM relying_parties WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                Ok(row.and_then(|r| r.get::<Option<String>, _>("jwks")))
            }

            async fn set_jwks_tx(
                &self,
                id: RelyingPartyId,
                jwks: Option<&str>,
            ) -> Result<Option<RelyingParty>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                sqlx::query("UPDATE relying_parties SET jwks = $1 WHERE id = $2")
                    .bind(jwks)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                let rp = Self::rp_by_id(&mut tx, id).await?;
                tx.commit().await.map_err(fail)?;
                Ok(rp)
            }

            async fn insert_client_token_tx(
                &self,
                token_hash: &[u8; 32],
                rp: RelyingPartyId,
                expires_at: UnixTime,
            ) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO client_tokens (token_hash, relying_party_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(token_hash.as_slice())
                    .bind(rp.0)
                    .bind(secs(expires_at))
                    .execute(&self.pool)
                    .await
                    .map_err(fail)?;
                Ok(())
            }

            async fn client_token_rp(
                &self,
                token_hash: &[u8; 32],
                at: UnixTime,
            ) -> Result<Option<RelyingParty>, StoreError> {
                let row = sqlx::query(concat!(
                    "SELECT ", rp_columns!(), " FROM client_tokens t JOIN relying_parties r ON r.id = t.relying_party_id \
                     WHERE t.token_hash = $1 AND t.expires_at >= $2"
                ))
                .bind(token_hash.as_slice())
                .bind(secs(at))
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?;
                row.as_ref().map(Self::rp_row).transpose()
            }
        }
    };
}
pub(crate) use clients_impl;
