//! PostgreSQL connections of the logins' own, outside sqlx's pool. A login is one statement
//! (`postgres.rs`), but a pool's connection costs two more round trips: sqlx pings each
//! connection as it goes back to the pool (and, unless told not to, as it is taken). On a
//! lane a login costs its statement alone.
//!
//! A login waits its turn for a lane (first come, first served), then takes an idle
//! connection, or makes one if there is none. A connection is put back after any answer
//! from the database, a refusal included; one that was lost ([`lost`]), or whose login was
//! cut off half-way (its caller gone), is dropped, and a later login connects afresh. A connection
//! that died while it was idle (the database restarted or failed over) is made again and
//! the login tried once more on it, so that such a database costs no login at all.

use std::sync::Mutex;
use std::time::Duration;

use mykey_platform::StoreError;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::fail;

/// How long making a lane's connection may take before the login fails (`503`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The lanes.
pub struct Lanes {
    options: PgConnectOptions,
    turns: Semaphore,
    idle: Mutex<Vec<PgConnection>>,
}

impl std::fmt::Debug for Lanes {
    // Not the connect options: they hold the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lanes")
            .field("free", &self.turns.available_permits())
            .finish()
    }
}

/// A lane in use, with its connection; [`Lane::keep`] puts the connection back.
pub(crate) struct Lane<'a> {
    lanes: &'a Lanes,
    _turn: SemaphorePermit<'a>,
    /// Whether the connection was made before this use (it may have died since).
    reused: bool,
    /// The connection, while the lane is in use.
    pub(crate) conn: PgConnection,
}

impl Lanes {
    /// `count` lanes connecting with `options`.
    pub(crate) fn new(options: PgConnectOptions, count: usize) -> Self {
        Self {
            options,
            turns: Semaphore::new(count.max(1)),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A lane, once it is this caller's turn, with a connection.
    pub(crate) async fn take(&self) -> Result<Lane<'_>, StoreError> {
        let turn = self.turns.acquire().await.map_err(fail)?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let (conn, reused) = match idle {
            Some(conn) => (conn, true),
            None => (connect(&self.options).await?, false),
        };
        Ok(Lane {
            lanes: self,
            _turn: turn,
            reused,
            conn,
        })
    }
}

async fn connect(options: &PgConnectOptions) -> Result<PgConnection, StoreError> {
    tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(fail)?
        .map_err(fail)
}

/// Whether `e` says the connection is gone or cannot be trusted: no answer from the database
/// (I/O, TLS, the protocol, or a failure of this side's), a connection exception (SQLSTATE
/// class 08), or the server shutting it down (57P01–57P03). The database refusing a statement
/// otherwise (a broken rule, a timeout, a lack of resources) leaves the connection ready for
/// the next, and the login is not tried again: that would only open connections while the
/// database struggles.
pub(crate) fn lost(e: &sqlx::Error) -> bool {
    match e.as_database_error() {
        None => true,
        Some(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
    }
}

impl Lane<'_> {
    /// Whether `outcome`, on a connection made before this use, says that it had died: then
    /// it is made again ([`Lane::again`]) and the work tried once more.
    pub(crate) fn died<T>(&self, outcome: &Result<T, sqlx::Error>) -> bool {
        self.reused && outcome.as_ref().err().is_some_and(lost)
    }

    /// A new connection in place of the one that died.
    pub(crate) async fn again(&mut self) -> Result<(), StoreError> {
        self.conn = connect(&self.lanes.options).await?;
        self.reused = false;
        Ok(())
    }

    /// Puts the connection back after `outcome`, unless it was lost.
    pub(crate) fn keep<T>(self, outcome: &Result<T, sqlx::Error>) {
        if !outcome.as_ref().err().is_some_and(lost) {
            let mut idle = self.lanes.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.push(self.conn);
        }
    }
}
