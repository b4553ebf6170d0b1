//! `[updates]`: whether and from where the app updates itself. An update is installed only if
//! its package carries a valid signature by `pubkey` (minisign, as `tauri signer` makes them),
//! fetched over HTTPS from `endpoint`. Desks whose software IT distributes lock
//! `allowed = false` in the machine policy; a desk with no source configured never looks.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct UpdateSettings {
    pub allowed: bool,
    /// The update manifest, `https://…`; `{{target}}`, `{{arch}}` and `{{current_version}}`
    /// are filled in.
    pub endpoint: Option<String>,
    /// The public key releases are signed with (`tauri signer generate` prints it).
    pub pubkey: Option<String>,
    /// PEM certificate authorities the endpoint must chain to, instead of the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for UpdateSettings {
    fn default() -> Self {
        Self {
            allowed: true,
            endpoint: None,
            pubkey: None,
            ca_file: None,
        }
    }
}

/// Where updates come from and who must have signed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSource {
    pub endpoint: url::Url,
    pub pubkey: String,
    pub ca_file: Option<PathBuf>,
}

impl UpdateSettings {
    /// The source to check, `None` when updates are off or not configured; a source that is
    /// half there or not HTTPS is an error naming the key.
    pub fn source(&self) -> Result<Option<UpdateSource>, String> {
        if !self.allowed {
            return Ok(None);
        }
        let (endpoint, pubkey) = match (&self.endpoint, &self.pubkey) {
            (None, None) => return Ok(None),
            (Some(e), Some(k)) => (e, k),
            (Some(_), None) => return Err("updates.pubkey is not set: updates are off".into()),
            (None, Some(_)) => return Err("updates.endpoint is not set: updates are off".into()),
        };
        let endpoint = url::Url::parse(endpoint)
            .map_err(|e| format!("updates.endpoint is not a URL ({e}): updates are off"))?;
        if endpoint.scheme() != "https" {
            return Err("updates.endpoint must be https: updates are off".into());
        }
        if pubkey.trim().is_empty() {
            return Err("updates.pubkey is empty: updates are off".into());
        }
        Ok(Some(UpdateSource {
            endpoint,
            pubkey: pubkey.trim().to_owned(),
            ca_file: self.ca_file.clone(),
        }))
    }
}

/// Where the app stands with updates, as the Settings panel shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum UpdateView {
    /// The organization turned updates off.
    Off,
    /// No update source is configured.
    Unconfigured,
    /// Configured; not checked yet.
    Idle,
    Checking,
    UpToDate,
    Available {
        version: String,
        notes: Option<String>,
    },
    Installing {
        version: String,
    },
    /// Installed; it runs from the next start.
    Installed {
        version: String,
    },
    Failed {
        message: String,
    },
}

impl UpdateView {
    /// Before any check: what the settings allow.
    pub fn of(settings: &UpdateSettings) -> Self {
        match settings.source() {
            Ok(Some(_)) => UpdateView::Idle,
            Ok(None) if !settings.allowed => UpdateView::Off,
            Ok(None) => UpdateView::Unconfigured,
            Err(message) => UpdateView::Failed { message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updates(text: &str) -> UpdateSettings {
        #[derive(Deserialize)]
        struct Doc {
            updates: UpdateSettings,
        }
        toml::from_str::<Doc>(text).expect("settings").updates
    }

    #[test]
    fn updates_need_an_https_source_and_a_key_and_the_policy_can_turn_them_off() {
        assert_eq!(
            UpdateView::of(&UpdateSettings::default()),
            UpdateView::Unconfigured
        );
        let good = updates(
            "[updates]\nendpoint = \"https://updates.contoso.test/sb/{{target}}/{{current_version}}\"\npubkey = \"dW50cnVzdGVk\"\n",
        );
        let source = good.source().expect("valid").expect("a source");
        assert_eq!(source.endpoint.scheme(), "https");
        assert_eq!(UpdateView::of(&good), UpdateView::Idle);
        let off = UpdateSettings {
            allowed: false,
            ..good.clone()
        };
        assert_eq!(off.source(), Ok(None));
        assert_eq!(UpdateView::of(&off), UpdateView::Off);
        for (bad, why) in [
            (
                "[updates]\nendpoint = \"http://updates.contoso.test/x\"\npubkey = \"k\"\n",
                "https",
            ),
            (
                "[updates]\nendpoint = \"https://updates.contoso.test/x\"\n",
                "pubkey",
            ),
            ("[updates]\npubkey = \"k\"\n", "endpoint"),
            (
                "[updates]\nendpoint = \"no url\"\npubkey = \"k\"\n",
                "not a URL",
            ),
        ] {
            let e = updates(bad).source().expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
            assert!(matches!(
                UpdateView::of(&updates(bad)),
                UpdateView::Failed { .. }
            ));
        }
    }
}
