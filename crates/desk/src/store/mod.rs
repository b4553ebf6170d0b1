//! The desk's own records in one SQLite file: the embedded customer store (screen pop) and the
//! call history with notes and dispositions. WAL with full sync: a note typed a second before
//! a power cut is on disk, and readers never wait for the writer.
//!
//! [`Store`] is the synchronous core (the CLI and the tests use it directly); [`worker`] runs
//! it on its own thread so that the engine's loop never waits for the disk.

pub mod customers;
pub mod history;
pub mod worker;

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use thiserror::Error;

pub use customers::{CaseView, CustomerRecord, ImportReport, Interaction};
pub use history::{CallRecord, HistoryEntry};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Csv(String),
    #[error("the store has stopped")]
    Stopped,
}

/// The schema, one step per version (`PRAGMA user_version`); a step is never edited once
/// shipped, only followed by another.
const MIGRATIONS: &[&str] = &["CREATE TABLE customers (
        phone TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        account TEXT NOT NULL DEFAULT '',
        tier TEXT NOT NULL DEFAULT '',
        record_url TEXT
    );
    CREATE TABLE cases (
        phone TEXT NOT NULL REFERENCES customers(phone) ON DELETE CASCADE,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        PRIMARY KEY (phone, id)
    );
    CREATE TABLE calls (
        id TEXT PRIMARY KEY NOT NULL,
        direction TEXT NOT NULL,
        remote TEXT NOT NULL,
        display_name TEXT,
        phone TEXT,
        started_ms INTEGER NOT NULL,
        answered_ms INTEGER,
        ended_ms INTEGER,
        end_reason TEXT,
        disposition TEXT,
        notes TEXT NOT NULL DEFAULT '',
        mos REAL
    );
    CREATE INDEX calls_by_phone ON calls(phone, started_ms);
    CREATE INDEX calls_by_start ON calls(started_ms);"];

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Where the app keeps it: the platform's data directory.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
        Some(base.join("switchboard").join("desk.sqlite3"))
    }

    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(err)?;
        Self::prepare(conn).map_err(err)
    }

    /// A store that lives as long as the value (tests, a headless agent with no disk).
    pub fn in_memory() -> Result<Self, StoreError> {
        Ok(Self::prepare(Connection::open_in_memory()?)?)
    }

    fn prepare(conn: Connection) -> Result<Self, rusqlite::Error> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Another process (the CLI importing customers) may hold the write lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(2))?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
        }
        Ok(Self { conn })
    }
}
