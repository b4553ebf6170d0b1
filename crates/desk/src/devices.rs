//! The agent's sound devices: the choice (microphone, speaker, ringer), remembered between
//! runs, and a watcher that notices devices plugged in or pulled out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_media::audio::catalog::{Catalog, DeviceList};
use tokio::sync::mpsc;

/// How often the device list is read (PulseAudio and ALSA have no change notice cpal exposes).
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Whether incoming calls ring on a sound device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ringing {
    /// Headless agents and tests: the call is announced, not rung.
    Silent,
    /// Ring on the chosen ringer device (the default when `None`).
    On,
}

/// Which devices the agent chose, by id; `None` is the system's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DeviceChoice {
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    /// Where incoming calls ring: often the laptop's own speaker, heard with the headset off.
    pub ringer: Option<String>,
}

impl DeviceChoice {
    /// The remembered choice: `$XDG_CONFIG_HOME/switchboard/devices.toml`.
    pub fn default_path() -> Option<PathBuf> {
        crate::settings::Settings::default_path().map(|p| p.with_file_name("devices.toml"))
    }

    /// Reads the remembered choice. A missing file is the defaults; a damaged one is logged and
    /// read as the defaults too (it is the app's own file, rewritten on the next choice).
    pub fn load(path: &Path) -> Self {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!("{}: {e}; using the default devices", path.display());
                Self::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(e) => {
                tracing::warn!("{}: {e}; using the default devices", path.display());
                Self::default()
            }
        }
    }

    /// Remembers the choice, replacing the file whole (written aside, then renamed), so a
    /// crash mid-write leaves the old choice rather than half a file.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        crate::toml_file::save(path, self)
    }
}

/// Watches the device list from a thread of its own (listing is a blocking round trip to the
/// sound server) and sends each new list, starting with the first.
pub(crate) fn watch() -> mpsc::UnboundedReceiver<DeviceList> {
    let (tx, rx) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("devices".into())
        .spawn(move || {
            let catalog = Catalog::new();
            let mut last = None;
            loop {
                let list = catalog.list();
                if last.as_ref() != Some(&list) {
                    if tx.send(list.clone()).is_err() {
                        return;
                    }
                    last = Some(list);
                }
                std::thread::sleep(WATCH_EVERY);
                if tx.is_closed() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("device watcher: {e}; the device list will not follow changes");
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_is_remembered_and_a_damaged_file_falls_back_to_the_defaults() {
        let dir = std::env::temp_dir().join(format!("sb-devices-{}", std::process::id()));
        let path = dir.join("devices.toml");
        assert_eq!(
            DeviceChoice::load(&path),
            DeviceChoice::default(),
            "no file yet"
        );
        let choice = DeviceChoice {
            microphone: Some("alsa_input.usb-Jabra".into()),
            speaker: Some("alsa_output.usb-Jabra".into()),
            ringer: None,
        };
        choice.save(&path).expect("save");
        assert_eq!(DeviceChoice::load(&path), choice);
        std::fs::write(&path, "microphone = [").expect("damage");
        assert_eq!(DeviceChoice::load(&path), DeviceChoice::default());
        std::fs::write(&path, "speaker = \"x\"\nvolume = 3\n").expect("unknown key");
        assert_eq!(DeviceChoice::load(&path), DeviceChoice::default());
        std::fs::remove_dir_all(&dir).ok();
    }
}
