//! The Terms of Use versions ([`mykey_platform::TermsStore`]).

use mykey_pki::UnixTime;
use mykey_platform::{StoreError, TermsStore, TermsVersion};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

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
    fn terms_row(r: &D::Row) -> TermsVersion {
        TermsVersion {
            version: r.get("version"),
            effective_at: time(r.get("effective_at")),
            text_url: r.get("text_url"),
            summary: r.get("summary"),
            published_at: time(r.get("published_at")),
            urgent_reason: r.get("urgent_reason"),
        }
    }
}

#[async_trait::async_trait]
impl<D: Dialect> TermsStore for SqlStore<D>
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
    async fn insert_terms(&self, t: &TermsVersion) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO terms_versions (version, effective_at, text_url, summary, published_at, urgent_reason) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(t.version.as_str())
        .bind(secs(t.effective_at))
        .bind(t.text_url.as_deref())
        .bind(t.summary.as_deref())
        .bind(secs(t.published_at))
        .bind(t.urgent_reason.as_deref())
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(done.rows_affected() == 1)
    }

    async fn terms_versions(&self) -> Result<Vec<TermsVersion>, StoreError> {
        let rows = sqlx::query("SELECT * FROM terms_versions ORDER BY effective_at")
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        Ok(rows.iter().map(Self::terms_row).collect())
    }

    async fn terms_in_force(&self, at: UnixTime) -> Result<Option<TermsVersion>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM terms_versions WHERE effective_at <= $1 ORDER BY effective_at DESC LIMIT 1",
        )
        .bind(secs(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        Ok(row.as_ref().map(Self::terms_row))
    }
}
