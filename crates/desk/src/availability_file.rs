//! The agent's state across restarts: a small TOML file in the user's config directory,
//! rewritten (atomically) on every change. Missing or damaged, it reads as nothing saved.

use std::path::{Path, PathBuf};

use crate::availability::AgentState;

/// `~/.config/switchboard/agent_state.toml`, beside the device choice.
pub fn default_path() -> Option<PathBuf> {
    crate::settings::Settings::default_path().map(|p| p.with_file_name("agent_state.toml"))
}

pub fn load(path: &Path) -> Option<AgentState> {
    let text = std::fs::read_to_string(path).ok()?;
    toml::from_str(&text)
        .inspect_err(|e| tracing::warn!("{}: not read ({e}); starting offline", path.display()))
        .ok()
}

pub fn save(path: &Path, state: &AgentState) -> std::io::Result<()> {
    crate::toml_file::save(path, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_reads_back_and_a_damaged_file_reads_as_nothing() {
        let dir = std::env::temp_dir().join(format!("sb-agent-state-{}", std::process::id()));
        let path = dir.join("nested/agent_state.toml");
        assert_eq!(load(&path), None, "missing");
        let state = AgentState::NotReady {
            reason: "Lunch".into(),
        };
        save(&path, &state).expect("save");
        assert_eq!(load(&path), Some(state));
        save(&path, &AgentState::Available).expect("overwrite");
        assert_eq!(load(&path), Some(AgentState::Available));
        std::fs::write(&path, "state = [broken").expect("damage");
        assert_eq!(load(&path), None);
        std::fs::remove_dir_all(&dir).ok();
    }
}
