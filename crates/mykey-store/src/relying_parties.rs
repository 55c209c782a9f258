//! Relying parties ([`mykey_platform::RelyingPartyStore`]): their registration and status,
//! client secrets, registered keys (`private_key_jwt`) and the client access tokens the token
//! endpoint gives them.

use mykey_pki::UnixTime;
use mykey_platform::{
    NewRelyingParty, RelyingParty, RelyingPartyId, RelyingPartyKind, RelyingPartyStatus,
    RelyingPartyStore, StoreError,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, SqlStore, Stored, StoredRef, fail, hash32, secs, time};

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: StoredRef<'a, D> + ColumnIndex<D::Row>,
    for<'a> &'a [u8]: StoredRef<'a, D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Option<&'a [u8]>: Encode<'a, D>,
    usize: ColumnIndex<D::Row>,
    i64: Stored<D>,
    Option<i64>: Stored<D>,
    i32: Stored<D>,
    bool: Stored<D>,
    String: Stored<D>,
    Option<String>: Stored<D>,
    Vec<u8>: Stored<D>,
{
    pub(crate) fn rp_row(r: &D::Row) -> Result<RelyingParty, StoreError> {
        Ok(RelyingParty {
            id: RelyingPartyId::new(r.get("rp_id")),
            client_id: r.get("client_id"),
            name: r.get("name"),
            kind: RelyingPartyKind::parse(r.get("kind"))
                .ok_or_else(|| StoreError::corrupt("unknown relying-party kind"))?,
            status: RelyingPartyStatus::parse(r.get("status"))
                .ok_or_else(|| StoreError::corrupt("unknown relying-party status"))?,
            created_at: time(r.get("rp_created_at")),
            profile: Self::profile_row(r),
        })
    }

    /// A relying party's profile from a row with `contact`, `privacy_policy_url` and
    /// `terms_url` (all or none).
    pub(crate) fn profile_row(r: &D::Row) -> Option<mykey_platform::RelyingPartyProfile> {
        match (
            r.get::<Option<String>, _>("contact"),
            r.get::<Option<String>, _>("privacy_policy_url"),
            r.get::<Option<String>, _>("terms_url"),
        ) {
            (Some(contact), Some(privacy_policy_url), Some(terms_url)) => {
                Some(mykey_platform::RelyingPartyProfile {
                    contact,
                    privacy_policy_url,
                    terms_url,
                })
            }
            _ => None,
        }
    }

    pub(crate) async fn rp_by_id(
        ex: &mut <D as sqlx::Database>::Connection,
        id: RelyingPartyId,
    ) -> Result<Option<RelyingParty>, StoreError> {
        let row = sqlx::query("SELECT r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url FROM relying_parties r WHERE r.id = $1")
            .bind(id.get())
            .fetch_optional(&mut *ex)
            .await
            .map_err(fail)?;
        row.as_ref().map(Self::rp_row).transpose()
    }

    async fn update_relying_party(
        &self,
        id: RelyingPartyId,
        status: Option<RelyingPartyStatus>,
        secret_hash: Option<&[u8; 32]>,
    ) -> Result<Option<RelyingParty>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        if let Some(s) = status {
            sqlx::query("UPDATE relying_parties SET status = $1 WHERE id = $2")
                .bind(s.as_str())
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            if s != RelyingPartyStatus::Approved {
                // Suspended: nothing it was given goes on working, on any node, and no
                // login not yet exchanged gives it anything.
                sqlx::query(
                    "UPDATE authorizations SET status = 'declined' \
                     WHERE status IN ('approved', 'continued') AND relying_party_id = $1",
                )
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
                sqlx::query(
                    "DELETE FROM access_tokens WHERE authorization_id IN \
                     (SELECT a.id FROM authorizations a WHERE a.relying_party_id = $1)",
                )
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            }
        }
        if let Some(h) = secret_hash {
            sqlx::query("UPDATE relying_parties SET secret_hash = $1 WHERE id = $2")
                .bind(h.as_slice())
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        if status.is_some_and(|s| s != RelyingPartyStatus::Approved) || secret_hash.is_some() {
            // A new secret (or a suspension) ends the client tokens got with the old one.
            sqlx::query("DELETE FROM client_tokens WHERE relying_party_id = $1")
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        let rp = Self::rp_by_id(&mut tx, id).await?;
        tx.commit().await.map_err(fail)?;
        Ok(rp)
    }
}

#[async_trait::async_trait]
impl<D: Dialect> RelyingPartyStore for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: StoredRef<'a, D> + ColumnIndex<D::Row>,
    for<'a> &'a [u8]: StoredRef<'a, D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Option<&'a [u8]>: Encode<'a, D>,
    usize: ColumnIndex<D::Row>,
    i64: Stored<D>,
    Option<i64>: Stored<D>,
    i32: Stored<D>,
    bool: Stored<D>,
    String: Stored<D>,
    Option<String>: Stored<D>,
    Vec<u8>: Stored<D>,
{
    async fn insert_relying_party(&self, rp: &NewRelyingParty) -> Result<RelyingParty, StoreError> {
        let id: i64 = sqlx::query(
            "INSERT INTO relying_parties (client_id, name, kind, status, secret_hash, created_at, jwks, \
             contact, privacy_policy_url, terms_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(rp.client_id.as_str())
        .bind(rp.name.as_str())
        .bind(rp.kind.as_str())
        .bind(RelyingPartyStatus::Pending.as_str())
        .bind(rp.secret_hash.as_slice())
        .bind(secs(rp.created_at))
        .bind(rp.jwks.as_deref())
        .bind(rp.profile.contact.as_str())
        .bind(rp.profile.privacy_policy_url.as_str())
        .bind(rp.profile.terms_url.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(fail)?
        .get(0);
        Ok(RelyingParty {
            id: RelyingPartyId::new(id),
            client_id: rp.client_id.clone(),
            name: rp.name.clone(),
            kind: rp.kind,
            status: RelyingPartyStatus::Pending,
            created_at: rp.created_at,
            profile: Some(rp.profile.clone()),
        })
    }

    async fn set_relying_party_profile(
        &self,
        id: RelyingPartyId,
        profile: &mykey_platform::RelyingPartyProfile,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE relying_parties SET contact = $1, privacy_policy_url = $2, terms_url = $3 WHERE id = $4",
        )
        .bind(profile.contact.as_str())
        .bind(profile.privacy_policy_url.as_str())
        .bind(profile.terms_url.as_str())
        .bind(id.get())
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(())
    }

    async fn relying_parties(&self) -> Result<Vec<RelyingParty>, StoreError> {
        let rows = sqlx::query("SELECT r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url FROM relying_parties r ORDER BY r.id")
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(Self::rp_row).collect()
    }

    async fn relying_party(&self, id: RelyingPartyId) -> Result<Option<RelyingParty>, StoreError> {
        let mut c = self.pool.acquire().await.map_err(fail)?;
        Self::rp_by_id(&mut c, id).await
    }

    async fn relying_party_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<(RelyingParty, [u8; 32])>, StoreError> {
        let row = sqlx::query("SELECT r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url, r.secret_hash FROM relying_parties r WHERE r.client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.map(|r| Ok((Self::rp_row(&r)?, hash32(r.get::<&[u8], _>("secret_hash"))?)))
            .transpose()
    }

    async fn set_relying_party_status(
        &self,
        id: RelyingPartyId,
        status: RelyingPartyStatus,
    ) -> Result<Option<RelyingParty>, StoreError> {
        self.update_relying_party(id, Some(status), None).await
    }

    async fn set_relying_party_secret(
        &self,
        id: RelyingPartyId,
        secret_hash: &[u8; 32],
    ) -> Result<Option<RelyingParty>, StoreError> {
        self.update_relying_party(id, None, Some(secret_hash)).await
    }

    async fn relying_party_jwks(&self, id: RelyingPartyId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT jwks FROM relying_parties WHERE id = $1")
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        Ok(row.and_then(|r| r.get::<Option<String>, _>("jwks")))
    }

    async fn set_relying_party_jwks(
        &self,
        id: RelyingPartyId,
        jwks: Option<&str>,
    ) -> Result<Option<RelyingParty>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        sqlx::query("UPDATE relying_parties SET jwks = $1 WHERE id = $2")
            .bind(jwks)
            .bind(id.get())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        let rp = Self::rp_by_id(&mut tx, id).await?;
        tx.commit().await.map_err(fail)?;
        Ok(rp)
    }

    async fn insert_client_token(
        &self,
        token_hash: &[u8; 32],
        rp: RelyingPartyId,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO client_tokens (token_hash, relying_party_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash.as_slice())
            .bind(rp.get())
            .bind(secs(expires_at))
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn client_token(
        &self,
        token_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<RelyingParty>, StoreError> {
        let row = sqlx::query("SELECT r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url FROM client_tokens t JOIN relying_parties r ON r.id = t.relying_party_id \
             WHERE t.token_hash = $1 AND t.expires_at >= $2")
        .bind(token_hash.as_slice())
        .bind(secs(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.as_ref().map(Self::rp_row).transpose()
    }
}
