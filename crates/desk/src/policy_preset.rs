//! What an installer writes into the machine policy from the properties IT gives it on the
//! command line (`msiexec /i Switchboard.msi /qn SWITCHBOARD_TRUNK=…`, the NSIS installer's
//! `/TRUNK=…`), through `switchboard --write-policy`: the trunk, the Microsoft 365 tenant and
//! app registration, as defaults or locked. Whatever else the policy holds is kept, its
//! comments and layout too (the file is edited, not rewritten), and the result is checked
//! whole before it replaces the file: an installer must not leave a desk with a policy that
//! does not work.

use std::path::Path;

use toml_edit::{DocumentMut, Item};

use crate::policy::{layer, Policy};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preset {
    /// `trunk.registrar`.
    pub trunk: Option<String>,
    /// `teams.tenant`.
    pub tenant: Option<String>,
    /// `teams.client_id`.
    pub client_id: Option<String>,
    /// Locked (`[locked]`) rather than preset (`[defaults]`).
    pub lock: bool,
}

impl Preset {
    /// `--trunk URI --tenant T --client-id ID --lock`, in any order; an empty value (an
    /// installer property left unset) sets nothing.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        let mut preset = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .map(|v| v.trim().to_owned())
                    .ok_or_else(|| format!("{name} needs a value"))
                    .map(|v| (!v.is_empty()).then_some(v))
            };
            match arg.as_str() {
                "--trunk" => preset.trunk = value("--trunk")?,
                "--tenant" => preset.tenant = value("--tenant")?,
                "--client-id" => preset.client_id = value("--client-id")?,
                "--lock" => preset.lock = true,
                other => return Err(format!("{other}: not an option of --write-policy")),
            }
        }
        Ok(preset)
    }

    /// The dotted keys this preset sets.
    pub fn keys(&self) -> Vec<&'static str> {
        [
            (self.trunk.is_some(), "trunk.registrar"),
            (self.tenant.is_some(), "teams.tenant"),
            (self.client_id.is_some(), "teams.client_id"),
        ]
        .into_iter()
        .filter_map(|(set, key)| set.then_some(key))
        .collect()
    }

    /// The policy `existing` (a file's text, or none) with this preset laid in.
    pub fn apply(&self, existing: Option<&str>) -> Result<String, String> {
        if let Some(trunk) = &self.trunk {
            crate::settings::trunk_uris(trunk, &[]).map_err(|e| format!("--trunk: {e}"))?;
        }
        // Edited in place, so IT's comments and layout stay as they wrote them.
        let mut doc: DocumentMut = match existing {
            Some(text) => {
                Policy::parse(text).map_err(|e| {
                    format!("the policy there does not parse ({e}); fix or remove it first")
                })?;
                text.parse()
                    .map_err(|e: toml_edit::TomlError| e.to_string())?
            }
            None => DocumentMut::new(),
        };
        let (layer_name, other) = if self.lock {
            ("locked", "defaults")
        } else {
            ("defaults", "locked")
        };
        let values = [
            ("trunk", "registrar", &self.trunk),
            ("teams", "tenant", &self.tenant),
            ("teams", "client_id", &self.client_id),
        ];
        for (section, key, value) in values {
            let Some(value) = value else { continue };
            // A key is either preset or locked: the other layer's copy goes.
            if let Some(s) = doc
                .get_mut(other)
                .and_then(|t| t.get_mut(section))
                .and_then(Item::as_table_like_mut)
            {
                s.remove(key);
            }
            let not_a_table = |what: String| format!("`{what}` is not a table");
            let layer = doc
                .entry(layer_name)
                .or_insert_with(implicit_table)
                .as_table_like_mut()
                .ok_or_else(|| not_a_table(layer_name.to_owned()))?;
            let table = layer
                .entry(section)
                .or_insert(toml_edit::table())
                .as_table_like_mut()
                .ok_or_else(|| not_a_table(format!("{layer_name}.{section}")))?;
            table.insert(key, toml_edit::value(value.as_str()));
        }
        let text = doc.to_string();
        let check = layer(("the new policy", Ok(Some(text.clone()))), ("", Ok(None)));
        match check.problems.first() {
            Some(problem) => Err(problem.clone()),
            None => Ok(text),
        }
    }
}

/// `[locked]` or `[defaults]` made for a preset: a header of its own only for its sections.
fn implicit_table() -> Item {
    let mut table = toml_edit::Table::new();
    table.set_implicit(true);
    Item::Table(table)
}

/// Lays `preset` into the policy at `path` (created with its folder if need be), replacing the
/// file in one step. Nothing is written when the result would not work.
pub fn write(path: &Path, preset: &Preset) -> Result<Vec<&'static str>, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(e)),
    };
    let text = preset
        .apply(existing.as_deref())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    crate::toml_file::replace(path, &text).map_err(fail)?;
    Ok(preset.keys())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Effective;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn effective(policy: &str) -> Effective {
        layer(("policy", Ok(Some(policy.to_owned()))), ("user", Ok(None)))
    }

    #[test]
    fn a_preset_is_laid_into_the_policy_keeping_the_rest() {
        let preset = Preset::from_args(&args(&[
            "--trunk",
            "sips:trunk.contoso.com",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--client-id",
            "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
            "--lock",
        ]))
        .expect("args");
        let existing =
            "[defaults.agent]\nwrap_up_secs = 45\n[defaults.trunk]\nregistrar = \"sip:old\"\n";
        let text = preset.apply(Some(existing)).expect("applied");
        let e = effective(&text);
        assert!(e.problems.is_empty(), "{:?}", e.problems);
        assert_eq!(e.settings.agent.wrap_up_secs, 45, "the rest is kept");
        let trunk = e.settings.trunk.expect("trunk");
        assert_eq!(trunk.registrar, "sips:trunk.contoso.com");
        assert_eq!(trunk.user, None, "the line comes with provisioning");
        assert_eq!(
            e.settings.teams.expect("teams").tenant,
            "contoso.onmicrosoft.com"
        );
        for key in ["trunk.registrar", "teams.tenant", "teams.client_id"] {
            assert!(e.locked.iter().any(|l| l == key), "{key} in {:?}", e.locked);
        }
        assert!(
            !text.contains("sip:old"),
            "locked, so no longer a default: {text}"
        );
    }

    #[test]
    fn unset_properties_set_nothing_and_a_bad_preset_or_policy_writes_nothing() {
        let preset =
            Preset::from_args(&args(&["--trunk", "", "--tenant", " "])).expect("empty values");
        assert!(preset.keys().is_empty());
        assert_eq!(preset.apply(None).expect("nothing"), "");

        let bad = Preset::from_args(&args(&["--trunk", "trunk.contoso.com"])).expect("args");
        let e = bad.apply(None).expect_err("not a SIP URI");
        assert!(e.contains("registrar") || e.contains("trunk"), "{e}");
        let alone = Preset::from_args(&args(&["--tenant", "contoso"])).expect("args");
        assert!(alone
            .apply(None)
            .expect_err("no client id")
            .contains("client_id"));
        let broken = Preset::from_args(&args(&["--lock"])).expect("args");
        assert!(broken
            .apply(Some("[locked.trunk\n"))
            .expect_err("unparsable policy")
            .contains("fix or remove it first"));
        assert!(Preset::from_args(&args(&["--trunk"])).is_err());
        assert!(Preset::from_args(&args(&["--registrar", "x"])).is_err());
    }

    #[test]
    fn the_file_is_written_whole_or_not_at_all() {
        let dir = std::env::temp_dir().join(format!("sb-preset-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("Switchboard/policy.toml");
        let good = Preset {
            trunk: Some("sips:trunk.contoso.com".into()),
            ..Preset::default()
        };
        assert_eq!(write(&path, &good).expect("written"), ["trunk.registrar"]);
        let before = std::fs::read_to_string(&path).expect("policy");
        assert!(before.contains("[defaults.trunk]"), "{before}");
        let bad = Preset {
            trunk: Some("not a uri".into()),
            ..Preset::default()
        };
        assert!(write(&path, &bad).is_err());
        assert_eq!(std::fs::read_to_string(&path).expect("policy"), before);
        assert!(!path.with_extension("toml.new").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
