//! The call history: every call with its direction, parties, times, outcome, quality, notes
//! and disposition. Rows are written as the call goes (offered, answered, ended) and the notes
//! as they are typed, so what a crash leaves is what the agent saw.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Store, StoreError};

/// A call as it is first written (when it rings or is dialled).
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub id: String,
    /// "inbound" or "outbound".
    pub direction: String,
    pub remote: String,
    pub display_name: Option<String>,
    /// The other party's number in E.164, when it is one.
    pub phone: Option<String>,
    pub started_ms: u64,
}

/// A call as the history screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub id: String,
    pub direction: String,
    pub remote: String,
    pub display_name: Option<String>,
    pub phone: Option<String>,
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub started_ms: u64,
    #[cfg_attr(feature = "ipc", ts(type = "number | null"))]
    pub answered_ms: Option<u64>,
    #[cfg_attr(feature = "ipc", ts(type = "number | null"))]
    pub ended_ms: Option<u64>,
    /// How it ended ("remoteHangup", "cancelled", ...).
    pub end_reason: Option<String>,
    pub disposition: Option<String>,
    pub notes: String,
    /// The listener's estimated MOS over the call.
    pub mos: Option<f64>,
}

/// How many entries a history search returns at most.
pub const HISTORY_PAGE: usize = 200;

impl Store {
    pub fn call_offered(&self, call: &CallRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO calls (id, direction, remote, display_name, phone, started_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                call.id,
                call.direction,
                call.remote,
                call.display_name,
                call.phone,
                call.started_ms
            ],
        )?;
        Ok(())
    }

    pub fn call_answered(&self, id: &str, at_ms: u64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET answered_ms = ?2 WHERE id = ?1 AND answered_ms IS NULL",
            params![id, at_ms],
        )?;
        Ok(())
    }

    pub fn call_ended(
        &self,
        id: &str,
        at_ms: u64,
        reason: &str,
        mos: Option<f64>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET ended_ms = ?2, end_reason = ?3, mos = ?4 WHERE id = ?1",
            params![id, at_ms, reason, mos],
        )?;
        Ok(())
    }

    /// The notes as they stand now, replacing what was saved before.
    pub fn save_notes(&self, id: &str, notes: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET notes = ?2 WHERE id = ?1",
            params![id, notes],
        )?;
        Ok(())
    }

    pub fn save_disposition(&self, id: &str, code: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET disposition = ?2 WHERE id = ?1",
            params![id, code],
        )?;
        Ok(())
    }

    pub fn call(&self, id: &str) -> Result<Option<HistoryEntry>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM calls WHERE id = ?1"),
                [id],
                entry,
            )
            .optional()?)
    }

    /// The calls, newest first, whose parties, number, disposition or notes contain `text`
    /// (all calls when it is empty).
    pub fn history(&self, text: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let pattern = format!("%{}%", escape_like(text));
        let mut q = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM calls
             WHERE ?1 = '%%' OR remote LIKE ?1 ESCAPE '\\' OR display_name LIKE ?1 ESCAPE '\\'
                OR phone LIKE ?1 ESCAPE '\\' OR disposition LIKE ?1 ESCAPE '\\'
                OR notes LIKE ?1 ESCAPE '\\'
             ORDER BY started_ms DESC LIMIT ?2"
        ))?;
        let rows = q.query_map(params![pattern, HISTORY_PAGE], entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

const COLUMNS: &str = "id, direction, remote, display_name, phone, started_ms, answered_ms, \
                       ended_ms, end_reason, disposition, notes, mos";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryEntry> {
    Ok(HistoryEntry {
        id: r.get(0)?,
        direction: r.get(1)?,
        remote: r.get(2)?,
        display_name: r.get(3)?,
        phone: r.get(4)?,
        started_ms: r.get(5)?,
        answered_ms: r.get(6)?,
        ended_ms: r.get(7)?,
        end_reason: r.get(8)?,
        disposition: r.get(9)?,
        notes: r.get(10)?,
        mos: r.get(11)?,
    })
}

/// The searched text taken literally: `%` and `_` are not wildcards to the agent.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(store: &Store, id: &str, phone: &str, at: u64) {
        store
            .call_offered(&CallRecord {
                id: id.into(),
                direction: "inbound".into(),
                remote: format!("sip:{phone}@trunk"),
                display_name: Some("Dana".into()),
                phone: Some(phone.into()),
                started_ms: at,
            })
            .expect("offered");
    }

    #[test]
    fn a_call_is_written_as_it_goes_and_found_by_its_notes() {
        let store = Store::in_memory().expect("store");
        offered(&store, "c1", "+14155550142", 1_000);
        store.call_answered("c1", 3_000).expect("answered");
        store
            .save_notes("c1", "Router resets; 50% off")
            .expect("notes");
        store
            .save_notes("c1", "Router resets; 100% fixed")
            .expect("notes");
        store
            .save_disposition("c1", "Resolved")
            .expect("disposition");
        store
            .call_ended("c1", 63_000, "remoteHangup", Some(4.2))
            .expect("ended");
        offered(&store, "c2", "+12125550187", 70_000);
        store
            .call_ended("c2", 75_000, "cancelled", None)
            .expect("ended");

        let c1 = store.call("c1").expect("query").expect("c1");
        assert_eq!(c1.notes, "Router resets; 100% fixed", "the last save wins");
        assert_eq!(c1.disposition.as_deref(), Some("Resolved"));
        assert_eq!((c1.answered_ms, c1.ended_ms), (Some(3_000), Some(63_000)));
        assert_eq!(c1.mos, Some(4.2));

        let all: Vec<String> = store
            .history("")
            .expect("all")
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(all, vec!["c2", "c1"], "newest first");
        let by_notes = store.history("100%").expect("search");
        assert_eq!(by_notes.len(), 1);
        assert!(
            store.history("50%").expect("search").is_empty(),
            "% is literal"
        );
        assert_eq!(store.history("555018").expect("search")[0].id, "c2");
        assert!(store.history("nothing like it").expect("search").is_empty());

        let last = store.interactions("+14155550142").expect("interactions");
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].duration_secs, Some(60));
        assert_eq!(last[0].disposition.as_deref(), Some("Resolved"));
    }

    #[test]
    fn notes_survive_reopening_the_file() {
        let dir = std::env::temp_dir().join(format!("sb-history-{}", std::process::id()));
        let path = dir.join("desk.sqlite3");
        {
            let store = Store::open(&path).expect("open");
            offered(&store, "c1", "+14155550142", 1_000);
            store
                .save_notes("c1", "typed before the crash")
                .expect("notes");
        }
        let store = Store::open(&path).expect("reopen");
        assert_eq!(
            store.call("c1").expect("query").expect("c1").notes,
            "typed before the crash"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
