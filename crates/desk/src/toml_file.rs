//! The app's small TOML files (device choice, agent state, the policy an installer presets),
//! replaced whole: written aside, flushed, then renamed over, so a crash mid-write leaves the
//! old file rather than half a file. And the one table operation the writers share.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use toml::{Table, Value};

pub fn save<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let text = toml::to_string(value).map_err(std::io::Error::other)?;
    replace(path, &text)
}

/// Replaces `path` with `text` in one step, creating its folder.
pub fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let aside = path.with_extension("toml.new");
    let mut file = std::fs::File::create(&aside)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&aside, path)
}

/// The table `name` in `parent`, made (or made a table) if it is not one.
pub fn table_mut<'a>(parent: &'a mut Table, name: &str) -> &'a mut Table {
    let entry = parent
        .entry(name.to_owned())
        .or_insert_with(|| Value::Table(Table::new()));
    if !entry.is_table() {
        *entry = Value::Table(Table::new());
    }
    match entry {
        Value::Table(t) => t,
        _ => unreachable!("made a table just above"),
    }
}
