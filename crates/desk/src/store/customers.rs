//! The embedded customer store: records keyed by E.164 number, their open cases, and the last
//! calls with them from the history. Filled from CSV (`switchboard-cli import-customers`), or
//! seeded for practice mode.

use std::io::Read;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Store, StoreError};
use crate::phone::NumberPlan;

/// What the screen pop shows about a caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CustomerRecord {
    /// E.164.
    pub phone: String,
    pub name: String,
    pub account: String,
    /// Service tier ("Gold", "Standard"), as the CRM names it.
    pub tier: String,
    /// The record in the CRM, opened in the system browser (http and https only).
    pub record_url: Option<String>,
    pub open_cases: Vec<CaseView>,
    /// The last calls with this number, newest first.
    pub last_interactions: Vec<Interaction>,
    /// Where the record came from ("local store", or the CRM connector's name).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CaseView {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub at_ms: u64,
    pub direction: String,
    #[cfg_attr(feature = "ipc", ts(type = "number | null"))]
    pub duration_secs: Option<u64>,
    pub disposition: Option<String>,
    /// The start of the notes.
    pub summary: String,
}

/// What an import did: rows stored, and the rows refused with their line and why.
#[derive(Debug, Default, PartialEq)]
pub struct ImportReport {
    pub imported: usize,
    pub rejected: Vec<(u64, String)>,
}

const LAST_INTERACTIONS: usize = 5;
const SUMMARY_CHARS: usize = 120;

impl Store {
    /// The record for `phone` (E.164), if the store has one.
    pub fn customer(&self, phone: &str) -> Result<Option<CustomerRecord>, StoreError> {
        let found = self
            .conn
            .query_row(
                "SELECT name, account, tier, record_url FROM customers WHERE phone = ?1",
                [phone],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((name, account, tier, record_url)) = found else {
            return Ok(None);
        };
        Ok(Some(CustomerRecord {
            phone: phone.to_owned(),
            name,
            account,
            tier,
            record_url,
            open_cases: self.cases(phone)?,
            last_interactions: self.interactions(phone)?,
            source: "local store".into(),
        }))
    }

    fn cases(&self, phone: &str) -> Result<Vec<CaseView>, StoreError> {
        let mut q = self
            .conn
            .prepare("SELECT id, title FROM cases WHERE phone = ?1 ORDER BY id")?;
        let rows = q.query_map([phone], |r| {
            Ok(CaseView {
                id: r.get(0)?,
                title: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last calls with `phone`, from the history (any connector's record shows them).
    pub fn interactions(&self, phone: &str) -> Result<Vec<Interaction>, StoreError> {
        let mut q = self.conn.prepare(
            "SELECT started_ms, direction, answered_ms, ended_ms, disposition, notes FROM calls
             WHERE phone = ?1 AND ended_ms IS NOT NULL ORDER BY started_ms DESC LIMIT ?2",
        )?;
        let rows = q.query_map(params![phone, LAST_INTERACTIONS], |r| {
            let answered: Option<u64> = r.get(2)?;
            let ended: Option<u64> = r.get(3)?;
            let notes: String = r.get(5)?;
            Ok(Interaction {
                at_ms: r.get(0)?,
                direction: r.get(1)?,
                duration_secs: answered.zip(ended).map(|(a, e)| e.saturating_sub(a) / 1000),
                disposition: r.get(4)?,
                summary: notes.chars().take(SUMMARY_CHARS).collect(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores one record (replacing the one with the same number) and its open cases.
    pub fn put_customer(&mut self, record: &CustomerRecord) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        put(&tx, record)?;
        tx.commit()?;
        Ok(())
    }

    /// Imports customers from CSV with a header row. Columns, by name in any order: `phone`
    /// and `name` (required), `account`, `tier`, `record_url`, and `open_cases` as
    /// `ID: title` entries separated by `;`. Numbers are normalized with `plan`; a row that
    /// cannot be read is refused and reported, and the others are stored in one transaction.
    pub fn import_customers(
        &mut self,
        csv_text: impl Read,
        plan: &NumberPlan,
    ) -> Result<ImportReport, StoreError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(csv_text);
        let header = reader
            .headers()
            .map_err(|e| StoreError::Csv(format!("header: {e}")))?
            .clone();
        let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(phone_at), Some(name_at)) = (column("phone"), column("name")) else {
            return Err(StoreError::Csv(
                "the header must name a `phone` and a `name` column".into(),
            ));
        };
        let optional = |name| column(name);
        let (account_at, tier_at, url_at, cases_at) = (
            optional("account"),
            optional("tier"),
            optional("record_url"),
            optional("open_cases"),
        );
        let mut report = ImportReport::default();
        let tx = self.conn.transaction()?;
        for row in reader.records() {
            let row = match row {
                Ok(row) => row,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    report.rejected.push((line, e.to_string()));
                    continue;
                }
            };
            let line = row.position().map_or(0, |p| p.line());
            let field = |at: Option<usize>| at.and_then(|i| row.get(i)).unwrap_or("");
            let raw_phone = field(Some(phone_at));
            let Some(phone) = plan.e164(raw_phone) else {
                report
                    .rejected
                    .push((line, format!("{raw_phone:?} is not a phone number")));
                continue;
            };
            let name = field(Some(name_at));
            if name.is_empty() {
                report.rejected.push((line, "no name".into()));
                continue;
            }
            let url = field(url_at);
            if !url.is_empty() && !is_web_link(url) {
                report
                    .rejected
                    .push((line, format!("record_url {url:?} is not an http(s) link")));
                continue;
            }
            let record = CustomerRecord {
                phone,
                name: name.to_owned(),
                account: field(account_at).to_owned(),
                tier: field(tier_at).to_owned(),
                record_url: (!url.is_empty()).then(|| url.to_owned()),
                open_cases: parse_cases(field(cases_at)),
                last_interactions: Vec::new(),
                source: String::new(),
            };
            put(&tx, &record)?;
            report.imported += 1;
        }
        tx.commit()?;
        Ok(report)
    }

    /// The practice line's customers, so that practice calls pop a record.
    pub fn seed_practice(&mut self) -> Result<(), StoreError> {
        let csv = include_str!("practice_customers.csv");
        self.import_customers(csv.as_bytes(), &NumberPlan::default())?;
        Ok(())
    }
}

fn put(tx: &rusqlite::Transaction<'_>, record: &CustomerRecord) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO customers (phone, name, account, tier, record_url) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(phone) DO UPDATE SET name = ?2, account = ?3, tier = ?4, record_url = ?5",
        params![
            record.phone,
            record.name,
            record.account,
            record.tier,
            record.record_url
        ],
    )?;
    tx.execute("DELETE FROM cases WHERE phone = ?1", [&record.phone])?;
    for case in &record.open_cases {
        tx.execute(
            "INSERT OR REPLACE INTO cases (phone, id, title) VALUES (?1, ?2, ?3)",
            params![record.phone, case.id, case.title],
        )?;
    }
    Ok(())
}

/// `CASE-1: Router drops; CASE-2: Refund` as cases; an entry without `:` is an id alone.
fn parse_cases(text: &str) -> Vec<CaseView> {
    text.split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| match entry.split_once(':') {
            Some((id, title)) => CaseView {
                id: id.trim().to_owned(),
                title: title.trim().to_owned(),
            },
            None => CaseView {
                id: entry.to_owned(),
                title: String::new(),
            },
        })
        .collect()
}

/// Only web links leave the app for the browser: never `file:`, `javascript:` or a scheme that
/// starts another program.
pub fn is_web_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\
Phone,Name,Account,Tier,Record_URL,Open_Cases
+1 415 555 0142,Dana Whitfield,AC-1042,Gold,https://crm.test/accounts/AC-1042,CASE-7: Router drops calls; CASE-9: Refund
(212) 555-0187,\"Ortiz, Sam\",AC-2001,Standard,,
not-a-number,Nobody,,,,
+14155550199,,AC-1,,,
+14155550100,Evil Link,AC-3,,javascript:alert(1),
";

    #[test]
    fn a_csv_import_keeps_good_rows_and_reports_bad_ones_by_line() {
        let mut store = Store::in_memory().expect("store");
        let report = store
            .import_customers(CSV.as_bytes(), &NumberPlan::default())
            .expect("import");
        assert_eq!(report.imported, 2);
        let lines: Vec<u64> = report.rejected.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![4, 5, 6], "{:?}", report.rejected);
        assert!(report.rejected[0].1.contains("not a phone number"));

        let dana = store
            .customer("+14155550142")
            .expect("query")
            .expect("found");
        assert_eq!(dana.name, "Dana Whitfield");
        assert_eq!(dana.tier, "Gold");
        assert_eq!(
            dana.open_cases,
            vec![
                CaseView {
                    id: "CASE-7".into(),
                    title: "Router drops calls".into()
                },
                CaseView {
                    id: "CASE-9".into(),
                    title: "Refund".into()
                },
            ]
        );
        let sam = store
            .customer("+12125550187")
            .expect("query")
            .expect("found");
        assert_eq!(sam.name, "Ortiz, Sam");
        assert_eq!(sam.record_url, None);
        assert!(store.customer("+14155550100").expect("query").is_none());
    }

    #[test]
    fn a_second_import_updates_records_and_replaces_their_cases() {
        let mut store = Store::in_memory().expect("store");
        store
            .import_customers(CSV.as_bytes(), &NumberPlan::default())
            .expect("import");
        let again = "phone,name,tier,open_cases\n4155550142,Dana W.,Platinum,CASE-11: New\n";
        let report = store
            .import_customers(again.as_bytes(), &NumberPlan::default())
            .expect("import");
        assert_eq!(
            report,
            ImportReport {
                imported: 1,
                rejected: vec![]
            }
        );
        let dana = store
            .customer("+14155550142")
            .expect("query")
            .expect("found");
        assert_eq!(
            (dana.name.as_str(), dana.tier.as_str()),
            ("Dana W.", "Platinum")
        );
        assert_eq!(dana.open_cases.len(), 1);
    }

    #[test]
    fn a_csv_without_the_required_columns_is_refused_whole() {
        let mut store = Store::in_memory().expect("store");
        let err = store
            .import_customers("number,who\n1,2\n".as_bytes(), &NumberPlan::default())
            .expect_err("no phone column");
        assert!(err.to_string().contains("`phone`"), "{err}");
    }

    #[test]
    fn the_practice_customers_are_seeded() {
        let mut store = Store::in_memory().expect("store");
        store.seed_practice().expect("seed");
        let dana = store
            .customer(crate::practice::PRACTICE_NUMBER)
            .expect("query");
        assert!(dana.is_some_and(|d| d.name.starts_with("Dana")));
    }
}
