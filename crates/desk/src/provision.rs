//! Setting a desk up without typing: a provisioning file holds the settings to write and the
//! secrets they name, and one command puts the secrets in the OS keychain and the settings in
//! the user's settings file (`switchboard --provision FILE`, `switchboard-cli provision FILE`).
//!
//! ```toml
//! [settings.trunk]          # the settings file's content, in its own shape
//! registrar = "sips:trunk.contoso.com"
//! user = "agent7"
//! password_keychain = "trunk-password"
//! [secrets]                 # name = value, each into the keychain
//! trunk-password = "..."
//! ```
//!
//! Everything is checked before anything is written; secrets go first, so settings never name
//! a secret that is not there. The settings file it replaces is kept beside it (`.bak`).

use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::{Table, Value};

use crate::keychain;
use crate::settings::Settings;

/// What a provisioning did, for IT's scripts: names, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provisioned {
    pub settings: PathBuf,
    /// The settings file that was there before, kept aside.
    pub backup: Option<PathBuf>,
    pub secrets: Vec<String>,
}

/// A provisioning file, read and checked.
pub struct Provision {
    settings: Table,
    secrets: Vec<(String, String)>,
}

impl std::fmt::Debug for Provision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provision")
            .field("settings", &self.settings)
            .field("secrets", &self.secret_names())
            .finish()
    }
}

impl Provision {
    /// Reads a provisioning document. Errors name the problem, never a secret's value.
    pub fn parse(text: &str) -> Result<Self, String> {
        // toml's own message quotes the offending line, which may hold a secret: only the
        // line number and what is wrong are told.
        let mut top: Table = toml::from_str(text).map_err(|e: toml::de::Error| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            format!("line {line}: {}", e.message())
        })?;
        let settings = match top.remove("settings") {
            Some(Value::Table(t)) => t,
            Some(_) => return Err("`settings` must be a table ([settings])".into()),
            None => Table::new(),
        };
        let secrets = match top.remove("secrets") {
            Some(Value::Table(t)) => t
                .into_iter()
                .map(|(name, value)| match value {
                    Value::String(v) if !v.is_empty() && valid_name(&name) => Ok((name, v)),
                    Value::String(_) if valid_name(&name) => {
                        Err(format!("secret {name:?} is empty"))
                    }
                    Value::String(_) => Err(format!(
                        "{name:?} is not a secret's name (letters, digits, - _ . /)"
                    )),
                    _ => Err(format!("secret {name:?} must be a string")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("`secrets` must be a table ([secrets])".into()),
            None => Vec::new(),
        };
        if let Some(stray) = top.keys().next() {
            return Err(format!("`{stray}` is not [settings] or [secrets]"));
        }
        Self::new(settings, secrets)
    }

    /// A provisioning of `settings` (the whole settings file) and `secrets`, checked: the
    /// settings must be settings this version reads.
    pub fn new(settings: Table, secrets: Vec<(String, String)>) -> Result<Self, String> {
        Value::Table(settings.clone())
            .try_into::<Settings>()
            .map_err(|e| format!("[settings]: {e}"))?;
        Ok(Self::unchecked(settings, secrets))
    }

    /// One its caller checked another way (a link's, under the machine policy).
    pub(crate) fn unchecked(settings: Table, secrets: Vec<(String, String)>) -> Self {
        Self { settings, secrets }
    }

    /// The secrets' names.
    pub fn secret_names(&self) -> Vec<String> {
        self.secrets.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Puts the secrets in the keychain, then writes the settings to `path` (the old file
    /// kept as `.bak`). Blocks on the keychain.
    pub fn apply(&self, path: &Path) -> Result<Provisioned, String> {
        for (name, value) in &self.secrets {
            keychain::store(name, value).map_err(|e| e.to_string())?;
        }
        let text = toml::to_string(&self.settings).map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let backup = if path.exists() {
            let aside = path.with_extension("toml.bak");
            std::fs::copy(path, &aside).map_err(|e| format!("{}: {e}", aside.display()))?;
            Some(aside)
        } else {
            None
        };
        let new = path.with_extension("toml.new");
        std::fs::write(&new, text).map_err(|e| format!("{}: {e}", new.display()))?;
        std::fs::rename(&new, path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Provisioned {
            settings: path.to_owned(),
            backup,
            secrets: self.secret_names(),
        })
    }
}

/// Reads the provisioning `file`, applies it to the settings file `settings`, and deletes
/// `file` afterwards when asked (it holds secrets).
pub fn apply_file(file: &Path, settings: &Path, remove: bool) -> Result<Provisioned, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let plan = Provision::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let done = plan.apply(settings)?;
    if remove {
        std::fs::remove_file(file).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(done)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provisioning_file_is_checked_whole_and_errors_never_show_a_secret() {
        let ok = Provision::parse(
            "[settings.trunk]\nregistrar = \"sip:127.0.0.1\"\nuser = \"a\"\npassword_keychain = \"pw\"\n\
             [secrets]\npw = \"s3cret-value\"\n",
        )
        .expect("valid");
        assert_eq!(ok.secret_names(), ["pw"]);
        for (bad, why) in [
            ("[settings.trunk]\nregistrar = 5\n", "registrar"),
            ("[settings]\ntrunkk = 1\n", "trunkk"),
            ("[secrets]\npw = 5\n", "must be a string"),
            ("[secrets]\npw = \"\"\n", "empty"),
            (
                "[secrets]\n\"p w\" = \"s3cret-value\"\n",
                "not a secret's name",
            ),
            ("extra = 1\n", "extra"),
            ("[secrets]\npw = \"s3cret-value\n", "line 2"),
        ] {
            let e = Provision::parse(bad).expect_err(bad);
            assert!(e.contains(why), "{bad:?}: {e}");
            assert!(!e.contains("s3cret-value"), "{e}");
        }
        let debug = format!("{ok:?}");
        assert!(debug.contains("pw") && !debug.contains("s3cret"), "{debug}");
    }
}
