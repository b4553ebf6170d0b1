//! The app's own small TOML files (device choice, agent state), replaced whole: written aside,
//! then renamed over, so a crash mid-write leaves the old file rather than half a file.

use std::path::Path;

use serde::Serialize;

pub fn save<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = toml::to_string(value).map_err(std::io::Error::other)?;
    let aside = path.with_extension("toml.new");
    std::fs::write(&aside, text)?;
    std::fs::rename(&aside, path)
}
