//! The machine policy IT installs (`/etc/switchboard/policy.toml` on Linux), layered over the
//! user's settings. It has two tables of the settings' own shape: `[defaults]`, which the
//! user's file may change, and `[locked]`, which it may not. The effective settings are the
//! built-in defaults, then the policy's defaults, then the user's file, then the locks.
//!
//! A policy that cannot be read is reported, and the app runs on the built-in defaults alone:
//! when we cannot tell what is locked, the user's file must not win over a lock it cannot see.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use switchboard_media::srtp::SrtpPolicy;
use switchboard_sip::AccountConfig;

use crate::settings::{Settings, UpdateSettings};

/// Where IT puts the policy on this platform.
pub fn default_path() -> PathBuf {
    if cfg!(target_os = "windows") {
        let data = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
        PathBuf::from(data).join("Switchboard").join("policy.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Switchboard/policy.toml")
    } else {
        PathBuf::from("/etc/switchboard/policy.toml")
    }
}

/// The policy in force: `SWITCHBOARD_POLICY` names it (tests, a trial), else the system's.
pub fn machine_path() -> PathBuf {
    std::env::var_os("SWITCHBOARD_POLICY")
        .map(PathBuf::from)
        .unwrap_or_else(default_path)
}

/// This desk's effective settings: the machine policy over the user's settings file. A file
/// that cannot be used is in `problems`, for the caller to report (see [`layer`]).
pub fn of_this_desk() -> Effective {
    let policy = machine_path();
    let user = Settings::user_path();
    layer(
        (&policy.display().to_string(), read(&policy)),
        (
            &user
                .as_ref()
                .map_or("(none)".into(), |p| p.display().to_string()),
            user.as_deref().map_or(Ok(None), read),
        ),
    )
}

/// The policy's two layers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    defaults: Table,
    locked: Table,
}

impl Policy {
    /// Reads a policy document; anything but `[defaults]` and `[locked]` at the top is an
    /// error, so a key put at the wrong level is not silently ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut top: Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut take = |name: &str| match top.remove(name) {
            None => Ok(Table::new()),
            Some(Value::Table(t)) => Ok(t),
            Some(_) => Err(format!("`{name}` must be a table ([{name}])")),
        };
        let policy = Self {
            defaults: take("defaults")?,
            locked: take("locked")?,
        };
        if let Some(stray) = top.keys().next() {
            return Err(format!(
                "`{stray}` is not [defaults] or [locked]: put each setting under one of them"
            ));
        }
        Ok(policy)
    }

    /// The settings the policy locks, as dotted paths (`trunk.srtp`, `experts`).
    pub fn locked_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        leaves(&self.locked, "", &mut keys);
        keys
    }
}

/// The settings in effect, what is locked, and what went wrong on the way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effective {
    pub settings: Settings,
    /// Dotted paths of the locked settings (shown read-only, "managed by your organization").
    pub locked: Vec<String>,
    /// Problems to show: a policy or settings file that could not be used, and why.
    pub problems: Vec<String>,
}

impl Effective {
    /// What the settings leave to be found out by using them: a trunk that cannot be used (no
    /// line yet, a password not in the keychain) and a codec list that cannot. Each is added to
    /// `problems` (the Settings panel and a diagnostics bundle show them); the desk then runs
    /// the practice line, or uses the codecs named right, instead of not starting. The trunk's
    /// account, when it can be used.
    pub fn try_in_use(&mut self) -> Option<(AccountConfig, SrtpPolicy)> {
        let trunk = self
            .settings
            .trunk
            .as_ref()
            .map(|t| t.account().map(|a| (a, t.srtp)));
        let mut problems = Vec::new();
        let usable = match trunk {
            Some(Ok(usable)) => Some(usable),
            Some(Err(e)) => {
                problems.push(format!("{e}; running the practice line"));
                None
            }
            None => None,
        };
        if let Err(e) = self.settings.media.check() {
            problems.push(format!("{e}; using the codecs it names right"));
        }
        for problem in problems {
            tracing::error!("settings: {problem}");
            self.problems.push(problem);
        }
        usable
    }
}

/// A file read as text: `Ok(None)` when it is not there.
pub type Read = Result<Option<String>, String>;

/// Reads `path`; a missing file is `Ok(None)`.
pub fn read(path: &Path) -> Read {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The effective settings from the policy file's text and the user's, each named for the
/// messages.
pub fn layer(policy: (&str, Read), user: (&str, Read)) -> Effective {
    let (policy_name, policy_text) = policy;
    let policy = match policy_text.and_then(|t| t.map(|t| Policy::parse(&t)).transpose()) {
        Ok(policy) => policy.unwrap_or_default(),
        Err(e) => {
            return Effective {
                problems: vec![format!(
                    "the machine policy {policy_name} cannot be used ({e}); running on the built-in defaults"
                )],
                ..Effective::default()
            }
        }
    };
    let mut problems = Vec::new();
    let (user_name, user_text) = user;
    let user = match user_text.and_then(|t| {
        t.map(|t| toml::from_str::<Table>(&t).map_err(|e| e.to_string()))
            .transpose()
    }) {
        Ok(user) => user.unwrap_or_default(),
        Err(e) => {
            problems.push(format!("the settings {user_name} are ignored: {e}"));
            Table::new()
        }
    };
    let locked = policy.locked_keys();
    let user_updates = user.get("updates").cloned();
    // The user's file on the policy's defaults: if that does not make valid settings, the
    // user's file is what is wrong (the policy was checked without it just below).
    let mut merged = policy.defaults.clone();
    merge(&mut merged, user);
    merge(&mut merged, policy.locked.clone());
    let settings = match Value::Table(merged).try_into::<Settings>() {
        Ok(settings) => settings,
        Err(e) => {
            let mut alone = policy.defaults.clone();
            merge(&mut alone, policy.locked.clone());
            match Value::Table(alone).try_into::<Settings>() {
                Ok(settings) => {
                    problems.push(format!("the settings {user_name} are ignored: {e}"));
                    settings
                }
                Err(e) => {
                    return Effective {
                        problems: vec![format!(
                            "the machine policy {policy_name} cannot be used ({e}); running on the built-in defaults"
                        )],
                        ..Effective::default()
                    }
                }
            }
        }
    };
    let mut settings = settings;
    updates_from_the_policy(&policy, user_updates, &mut settings, &mut problems);
    Effective {
        settings,
        locked,
        problems,
    }
}

/// Where updates come from and whose key they must carry is the machine's to say, never the
/// user's: anything running as the agent can write their settings file, and a source and key
/// of its choosing would make the signature check worthless. The user may only turn updates
/// off.
fn updates_from_the_policy(
    policy: &Policy,
    user: Option<Value>,
    settings: &mut Settings,
    problems: &mut Vec<String>,
) {
    let mut machine = Table::new();
    for layer in [&policy.defaults, &policy.locked] {
        if let Some(Value::Table(updates)) = layer.get("updates") {
            merge(&mut machine, updates.clone());
        }
    }
    let machine: UpdateSettings = Value::Table(machine).try_into().unwrap_or_default();
    let updates = &mut settings.updates;
    updates.endpoint = machine.endpoint;
    updates.pubkey = machine.pubkey;
    updates.ca_file = machine.ca_file;
    let named = |key: &str| matches!(&user, Some(Value::Table(t)) if t.contains_key(key));
    if ["endpoint", "pubkey", "ca_file"].iter().any(|k| named(k)) {
        problems.push(
            "updates.endpoint, updates.pubkey and updates.ca_file are taken from the machine \
             policy only; the settings file's are ignored"
                .into(),
        );
    }
}

/// `over` laid on `base`: tables merge key by key, anything else (values, arrays, arrays of
/// tables such as `[[experts]]`) replaces what was there.
fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(below)), Value::Table(above)) => merge(below, above),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn leaves(table: &Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Table(inner) => leaves(inner, &path, out),
            _ => out.push(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_media::srtp::SrtpPolicy;

    fn effective(policy: &str, user: &str) -> Effective {
        layer(
            ("policy.toml", Ok(Some(policy.to_owned()))),
            ("settings.toml", Ok(Some(user.to_owned()))),
        )
    }

    const TRUNK: &str = "[trunk]\nregistrar = \"sip:127.0.0.1:5070\"\nuser = \"agent7\"\n";

    #[test]
    fn defaults_yield_to_the_user_and_locks_do_not() {
        let policy = "[defaults.agent]\nwrap_up_secs = 45\ncall_waiting = false\n\
                      [locked.trunk]\nsrtp = \"required\"\n[locked.agent]\ndisposition_required = true\n";
        let user = format!(
            "{TRUNK}srtp = \"off\"\n[agent]\ncall_waiting = true\ndisposition_required = false\n"
        );
        let e = effective(policy, &user);
        assert_eq!(e.problems, Vec::<String>::new());
        let trunk = e.settings.trunk.expect("the user's trunk");
        assert_eq!(trunk.user.as_deref(), Some("agent7"));
        assert_eq!(
            trunk.srtp,
            SrtpPolicy::Required,
            "locked over the user's off"
        );
        assert!(
            e.settings.agent.call_waiting,
            "the user's choice over a default"
        );
        assert_eq!(e.settings.agent.wrap_up_secs, 45, "the policy's default");
        assert!(e.settings.agent.disposition_required, "locked");
        assert_eq!(e.locked, ["agent.disposition_required", "trunk.srtp"]);
    }

    #[test]
    fn a_locked_list_replaces_the_users_whole() {
        let policy = "[[locked.experts]]\nname = \"Tier 2\"\ntarget = \"+14155550100\"\n";
        let user = "[[experts]]\nname = \"My friend\"\ntarget = \"+14155550199\"\n";
        let e = effective(policy, user);
        let names: Vec<&str> = e.settings.experts.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["Tier 2"]);
        assert_eq!(e.locked, ["experts"]);
    }

    #[test]
    fn a_malformed_policy_runs_on_built_in_defaults_never_on_the_users_file() {
        for bad in [
            "[locked.trunk\nsrtp = \"required\"\n",
            "[locked.trunk]\nsrtpp = \"required\"\n",
            "trunk = 3\n",
            "locked = 3\n",
        ] {
            let e = effective(bad, &format!("{TRUNK}srtp = \"off\"\n"));
            assert_eq!(e.settings, Settings::default(), "{bad:?}");
            assert_eq!(e.problems.len(), 1, "{bad:?}");
            assert!(
                e.problems[0].contains("policy.toml")
                    && e.problems[0].contains("built-in defaults"),
                "{:?}",
                e.problems
            );
        }
        let unreadable = layer(
            ("policy.toml", Err("policy.toml: permission denied".into())),
            ("settings.toml", Ok(Some(TRUNK.into()))),
        );
        assert_eq!(unreadable.settings.trunk, None);
    }

    #[test]
    fn a_bad_user_file_is_ignored_and_the_policy_still_applies() {
        let policy = "[defaults.ui]\nlanguage = \"zh-Hant\"\n[locked.agent]\nwrap_up_secs = 10\n";
        for bad in [
            "[trunk]\nregistrar = 5\n",
            "[agent\n",
            "[agent]\nwrap_up = 3\n",
        ] {
            let e = effective(policy, bad);
            assert_eq!(
                e.settings.ui.language.as_deref(),
                Some("zh-Hant"),
                "{bad:?}"
            );
            assert_eq!(e.settings.agent.wrap_up_secs, 10);
            assert!(
                e.problems.len() == 1 && e.problems[0].contains("settings.toml"),
                "{:?}",
                e.problems
            );
        }
    }

    #[test]
    fn the_update_source_and_key_come_from_the_policy_only() {
        let policy = "[locked.updates]\nendpoint = \"https://updates.contoso.test/{{target}}\"\n\
                      pubkey = \"policy-key\"\n";
        let user =
            "[updates]\nallowed = false\nendpoint = \"https://evil.test/\"\npubkey = \"mine\"\n";
        let e = effective(policy, user);
        assert_eq!(e.settings.updates.pubkey.as_deref(), Some("policy-key"));
        assert!(e
            .settings
            .updates
            .endpoint
            .as_deref()
            .is_some_and(|u| u.contains("contoso")));
        assert!(!e.settings.updates.allowed, "the user may turn updates off");
        assert!(
            e.problems.iter().any(|p| p.contains("machine policy only")),
            "{:?}",
            e.problems
        );
        // Without a policy, a user's own source is not used at all.
        let alone = effective("", user);
        assert_eq!(alone.settings.updates.pubkey, None);
        assert_eq!(alone.settings.updates.endpoint, None);
    }

    #[test]
    fn no_policy_is_the_users_file_as_it_is() {
        let e = layer(
            ("policy.toml", Ok(None)),
            ("settings.toml", Ok(Some(TRUNK.into()))),
        );
        assert_eq!(
            e.settings.trunk.and_then(|t| t.user).as_deref(),
            Some("agent7")
        );
        assert!(e.locked.is_empty() && e.problems.is_empty());
        let nothing = layer(("policy.toml", Ok(None)), ("settings.toml", Ok(None)));
        assert_eq!(nothing.settings, Settings::default());
    }
}
