//! The cluster's secrets and leases ([`mykey_platform::ClusterStore`]).

use mykey_pki::UnixTime;
use mykey_platform::{ClusterStore, Lease, StoreError};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, SqlStore, Stored, StoredRef, fail, secs, time};

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: StoredRef<'a, D> + ColumnIndex<D::Row>,
    for<'a> &'a [u8]: StoredRef<'a, D>,
    usize: ColumnIndex<D::Row>,
    i64: Stored<D>,
    String: Stored<D>,
    Vec<u8>: Stored<D>,
{
    async fn secrets_in(c: &mut D::Connection) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(
            sqlx::query("SELECT name, sealed FROM cluster_secrets ORDER BY name")
                .fetch_all(c)
                .await
                .map_err(fail)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        )
    }
}

#[async_trait::async_trait]
impl<D: Dialect> ClusterStore for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: StoredRef<'a, D> + ColumnIndex<D::Row>,
    for<'a> &'a [u8]: StoredRef<'a, D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    usize: ColumnIndex<D::Row>,
    i64: Stored<D>,
    String: Stored<D>,
    Vec<u8>: Stored<D>,
{
    async fn cluster_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut c = self.pool.acquire().await.map_err(fail)?;
        Self::secrets_in(&mut c).await
    }

    async fn offer_cluster_secrets(
        &self,
        offered: &[(String, Vec<u8>)],
        at: UnixTime,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        for (name, sealed) in offered {
            sqlx::query(
                "INSERT INTO cluster_secrets (name, sealed, made_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name.as_str())
            .bind(sealed.as_slice())
            .bind(secs(at))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        let kept = Self::secrets_in(&mut tx).await?;
        tx.commit().await.map_err(fail)?;
        Ok(kept)
    }

    async fn replace_cluster_secrets(
        &self,
        set: &[(String, Vec<u8>)],
        remove: &[String],
        unchanged: &[(String, Vec<u8>)],
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let lock = if D::ROW_LOCKS { " FOR UPDATE" } else { "" };
        for (name, sealed) in unchanged {
            let now: Option<Vec<u8>> = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT sealed FROM cluster_secrets WHERE name = $1{lock}"
            )))
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?
            .map(|r| r.get(0));
            if now.as_ref() != Some(sealed) {
                return Ok(false);
            }
        }
        for name in remove {
            sqlx::query("DELETE FROM cluster_secrets WHERE name = $1")
                .bind(name.as_str())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        for (name, sealed) in set {
            sqlx::query(
                "INSERT INTO cluster_secrets (name, sealed, made_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, made_at = excluded.made_at",
            )
            .bind(name.as_str())
            .bind(sealed.as_slice())
            .bind(secs(at))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn holds_data(&self) -> Result<bool, StoreError> {
        let mut c = self.pool.acquire().await.map_err(fail)?;
        Ok(sqlx::query("SELECT 1 FROM relying_parties LIMIT 1")
            .fetch_optional(&mut *c)
            .await
            .map_err(fail)?
            .is_some())
    }

    async fn take_lease(&self, name: &str, holder: &str, seconds: u32) -> Result<bool, StoreError> {
        let now = D::NOW_SECS;
        let mut c = self.pool.acquire().await.map_err(fail)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, {now} + $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= {now} \
             RETURNING holder"
        )))
        .bind(name)
        .bind(holder)
        .bind(i64::from(seconds))
        .fetch_optional(&mut *c)
        .await
        .map_err(fail)?;
        Ok(row.is_some_and(|r| r.get::<&str, _>(0) == holder))
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut c = self.pool.acquire().await.map_err(fail)?;
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&mut *c)
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        let mut c = self.pool.acquire().await.map_err(fail)?;
        Ok(
            sqlx::query("SELECT name, holder, expires_at FROM leases ORDER BY name")
                .fetch_all(&mut *c)
                .await
                .map_err(fail)?
                .iter()
                .map(|r| Lease {
                    name: r.get(0),
                    holder: r.get(1),
                    expires_at: time(r.get(2)),
                })
                .collect(),
        )
    }
}
