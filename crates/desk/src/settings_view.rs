//! The settings in effect as the window lists them: each with its value and whether the
//! machine policy locks it (shown "managed by your organization"), and what went wrong
//! reading the policy or the settings. Secrets never appear: only where they come from.

use serde::Serialize;

use crate::policy::Effective;
use crate::settings::Settings;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub rows: Vec<SettingRow>,
    /// A policy or settings file that could not be used, and why.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingRow {
    /// The setting's dotted path, as in the files (`trunk.srtp`).
    pub key: String,
    /// Its value in words; "" when unset.
    pub value: String,
    /// Locked by the machine policy: the user's file cannot change it.
    pub managed: bool,
}

impl SettingsView {
    pub fn of(effective: &Effective) -> Self {
        let managed = |key: &str| {
            effective.locked.iter().any(|l| {
                l == key || l.starts_with(&format!("{key}.")) || key.starts_with(&format!("{l}."))
            })
        };
        let rows = rows(&effective.settings)
            .into_iter()
            .map(|(key, value)| SettingRow {
                managed: managed(key),
                key: key.to_owned(),
                value,
            })
            .collect();
        Self {
            rows,
            problems: effective.problems.clone(),
        }
    }
}

/// A URL as the panel (and a diagnostics bundle) shows it: without a password in it, and
/// without the value of a query parameter named like a credential (`api_key=…`, `token=…`).
/// Templates such as `{phone}` stay readable.
fn shown_url(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://…@{host}{path}"),
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if query.is_empty() {
        return base;
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if crate::crm_settings::carries_credentials(name) => {
                format!("{name}=…")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

/// The settings an agent or IT asks about, in the order the window lists them.
fn rows(s: &Settings) -> Vec<(&'static str, String)> {
    let trunk = s.trunk.as_ref();
    let teams = s.teams.as_ref();
    let opt = |v: Option<String>| v.unwrap_or_default();
    vec![
        ("trunk.registrar", opt(trunk.map(|t| t.registrar.clone()))),
        ("trunk.alternates", opt(trunk.map(|t| list(&t.alternates)))),
        ("trunk.user", opt(trunk.and_then(|t| t.user.clone()))),
        (
            "trunk.srtp",
            opt(trunk.map(|t| format!("{:?}", t.srtp).to_lowercase())),
        ),
        (
            "trunk.tls_roots",
            opt(trunk.and_then(|t| t.tls_roots.as_ref().map(|p| p.display().to_string()))),
        ),
        (
            "trunk.password",
            opt(
                trunk.map(|t| match (&t.password_keychain, &t.password_env) {
                    (Some(name), _) => format!("keychain: {name}"),
                    (None, Some(var)) => format!("environment: {var}"),
                    (None, None) => String::new(),
                }),
            ),
        ),
        ("agent.not_ready_reasons", list(&s.agent.not_ready_reasons)),
        ("agent.wrap_up_secs", s.agent.wrap_up_secs.to_string()),
        (
            "agent.disposition_required",
            s.agent.disposition_required.to_string(),
        ),
        ("agent.dispositions", list(&s.agent.dispositions)),
        ("agent.call_waiting", s.agent.call_waiting.to_string()),
        ("customers.country_code", s.customers.country_code.clone()),
        (
            "customers.crm",
            opt(s.customers.crm.as_ref().map(|c| shown_url(&c.url))),
        ),
        (
            "experts",
            list(&s.experts.iter().map(|e| e.name.clone()).collect::<Vec<_>>()),
        ),
        ("teams.tenant", opt(teams.map(|t| t.tenant.clone()))),
        ("teams.client_id", opt(teams.map(|t| t.client_id.clone()))),
        ("teams.graph_base", opt(teams.map(|t| t.graph_base.clone()))),
        ("ui.language", opt(s.ui.language.clone())),
        ("ui.answer_key", s.ui.answer_key.clone()),
        ("ui.hangup_key", s.ui.hangup_key.clone()),
        ("media.codecs", list(&s.media.codecs)),
        ("logging.level", s.logging.level.as_str().to_owned()),
        ("updates.allowed", s.updates.allowed.to_string()),
        (
            "updates.endpoint",
            opt(s.updates.endpoint.as_deref().map(shown_url)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::layer;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            shown_url("https://svc:hunter2@crm.internal/api/c?phone={phone}&api_key=abc123&x=1"),
            "https://…@crm.internal/api/c?phone={phone}&api_key=…&x=1"
        );
        assert_eq!(
            shown_url("https://updates.contoso.test/{{target}}"),
            "https://updates.contoso.test/{{target}}"
        );
        assert_eq!(
            shown_url("https://a.test/p?token=t&sig=s"),
            "https://a.test/p?token=…&sig=s"
        );
    }

    #[test]
    fn locked_settings_are_marked_and_secrets_are_named_not_shown() {
        let effective = layer(
            (
                "policy.toml",
                Ok(Some(
                    "[locked.trunk]\nsrtp = \"required\"\n[locked.ui]\nlanguage = \"zh-TW\"\n"
                        .into(),
                )),
            ),
            (
                "settings.toml",
                Ok(Some(
                    "[trunk]\nregistrar = \"sip:127.0.0.1\"\nuser = \"a\"\npassword_env = \"PW\"\n"
                        .into(),
                )),
            ),
        );
        let view = SettingsView::of(&effective);
        let row = |k: &str| {
            view.rows
                .iter()
                .find(|r| r.key == k)
                .cloned()
                .expect("a row")
        };
        assert!(row("trunk.srtp").managed);
        assert_eq!(row("trunk.srtp").value, "required");
        assert!(row("ui.language").managed);
        assert!(!row("trunk.registrar").managed);
        assert!(!row("ui.answer_key").managed);
        assert_eq!(row("trunk.password").value, "environment: PW");
        assert!(view.problems.is_empty());
    }
}
