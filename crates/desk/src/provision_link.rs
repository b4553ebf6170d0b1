//! `switchboard://provision?trunk.registrar=…&trunk.user=agent7`: a desk set up from a link in
//! IT's mail or on the intranet. Any web page can open a link, so a link carries no secret (a
//! key that names one is refused), sets only the keys in [`KEYS`], and nothing is applied until
//! the agent confirms, in the window, exactly what would change. The trunk's password, when the
//! line needs one, is typed there and goes to the OS keychain, never into a file.

use serde::Serialize;
use toml::{Table, Value};

use crate::toml_file::table_mut;

use crate::policy::{layer, Effective, Policy, Read};
use crate::provision::Provision;
use crate::settings_view::SettingsView;

/// What a link may set, in the order the window lists them.
pub const KEYS: &[&str] = &[
    "trunk.registrar",
    "trunk.user",
    "trunk.srtp",
    "teams.tenant",
    "teams.client_id",
    "customers.country_code",
    "ui.language",
];

/// The keychain entry a password typed for a link's line is kept under.
pub const PASSWORD_ENTRY: &str = "trunk-password";

/// A link's settings, read and checked; not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkProvision {
    /// (key, value), in [`KEYS`] order.
    changes: Vec<(&'static str, String)>,
}

/// What the window asks the agent to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProvisionOffer {
    /// Which link this is: Set up applies this one only, never one that came after it.
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub id: u64,
    pub changes: Vec<OfferedChange>,
    /// The link sets up a line: the window asks for its password (optional).
    pub asks_password: bool,
}

/// What the window hears of a link: an offer to confirm, or why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LinkPrompt {
    Offer { offer: ProvisionOffer },
    Refused { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OfferedChange {
    pub key: String,
    /// The value in effect now ("" when unset).
    pub from: String,
    pub to: String,
    /// Locked by the machine policy: shown, and left as it is.
    pub managed: bool,
}

impl LinkProvision {
    /// Reads a `switchboard://provision?…` link. Errors say what is wrong with the link and
    /// never repeat a value from it.
    pub fn parse(link: &str) -> Result<Self, String> {
        let url = url::Url::parse(link).map_err(|e| format!("not a link ({e})"))?;
        if url.scheme() != "switchboard" || url.host_str() != Some("provision") {
            return Err("not a switchboard://provision link".into());
        }
        let mut changes: Vec<(&'static str, String)> = Vec::new();
        // Percent-decoded by hand: form decoding would turn the `+` of an E.164 number into
        // a space.
        let pairs = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty());
        for pair in pairs {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let (key, value) = (decode(key), decode(value));
            let Some(&known) = KEYS.iter().find(|k| **k == key.as_str()) else {
                let shown: String = key.chars().take(40).collect();
                return Err(format!(
                    "{shown:?} cannot be set by a link (only {}); secrets never can",
                    KEYS.join(", ")
                ));
            };
            if changes.iter().any(|(k, _)| *k == known) {
                return Err(format!("{known} is given twice"));
            }
            let value = value.trim();
            if value.is_empty() || value.len() > 512 || value.chars().any(char::is_control) {
                return Err(format!("{known}: not a usable value"));
            }
            changes.push((known, value.to_owned()));
        }
        if changes.is_empty() {
            return Err("the link sets nothing".into());
        }
        changes.sort_by_key(|(k, _)| KEYS.iter().position(|x| x == k));
        for (key, value) in &changes {
            check_value(key, value)?;
        }
        Ok(Self { changes })
    }

    /// What would change on this desk, as the window shows it, as offer `id`.
    pub fn offer(&self, id: u64, effective: &Effective) -> ProvisionOffer {
        let view = SettingsView::of(effective);
        let changes = self
            .changes
            .iter()
            .map(|(key, to)| {
                let row = view.rows.iter().find(|r| r.key == *key);
                OfferedChange {
                    key: (*key).to_owned(),
                    from: row.map(|r| r.value.clone()).unwrap_or_default(),
                    to: to.clone(),
                    managed: row.is_some_and(|r| r.managed),
                }
            })
            .collect();
        ProvisionOffer {
            id,
            changes,
            asks_password: self.sets_up_a_line(),
        }
    }

    fn sets_up_a_line(&self) -> bool {
        self.changes
            .iter()
            .any(|(k, _)| *k == "trunk.registrar" || *k == "trunk.user")
    }

    /// The provisioning to apply once confirmed: the user's settings (`user`, the file's text)
    /// with the link's values laid in, except what the machine policy (`policy`, its text)
    /// locks; a password goes to the keychain and the settings name it. The result must work
    /// under the policy (which may bring the registrar a link leaves out).
    pub fn provision(
        &self,
        user: Option<&str>,
        policy: &Read,
        password: Option<&str>,
    ) -> Result<Provision, String> {
        let current: Table = match user {
            Some(text) => toml::from_str(text)
                .map_err(|_| "the settings file does not parse: fix it first".to_owned())?,
            None => Table::new(),
        };
        let locked = match policy {
            Ok(Some(text)) => Policy::parse(text)
                .map(|p| p.locked_keys())
                .map_err(|e| format!("the machine policy cannot be used ({e})"))?,
            Ok(None) => Vec::new(),
            Err(e) => return Err(e.clone()),
        };
        let mut settings = self.overlay(current.clone(), &locked);
        // A new trunk gets nothing of the old one's trust: not its password, nor its
        // certificate authorities, alternates or domain.
        let registrar = |t: &Table| {
            t.get("trunk")
                .and_then(|v| v.get("registrar"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if registrar(&current).is_some() && registrar(&current) != registrar(&settings) {
            let trunk = table_mut(&mut settings, "trunk");
            for key in [
                "password_keychain",
                "password_env",
                "tls_roots",
                "alternates",
                "domain",
            ] {
                trunk.remove(key);
            }
        }
        let mut secrets = Vec::new();
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            let trunk = table_mut(&mut settings, "trunk");
            trunk.remove("password_env");
            trunk.insert(
                "password_keychain".into(),
                Value::String(PASSWORD_ENTRY.into()),
            );
            secrets.push((PASSWORD_ENTRY.to_owned(), password.to_owned()));
        }
        let text = toml::to_string(&settings).map_err(|e| e.to_string())?;
        let result = layer(
            ("in force", policy.clone()),
            ("made from the link", Ok(Some(text))),
        );
        if let Some(problem) = result.problems.first() {
            return Err(problem.clone());
        }
        Ok(Provision::unchecked(settings, secrets))
    }

    fn overlay(&self, mut settings: Table, locked: &[String]) -> Table {
        for (key, value) in &self.changes {
            if locked.iter().any(|l| l == key) {
                continue;
            }
            let Some((name, field)) = key.split_once('.') else {
                continue;
            };
            table_mut(&mut settings, name).insert(field.to_owned(), Value::String(value.clone()));
        }
        settings
    }
}

/// A value a key can take: a SIP URI for the registrar, an SRTP policy, a country code.
fn check_value(key: &str, value: &str) -> Result<(), String> {
    match key {
        "trunk.registrar" => crate::settings::trunk_uris(value, &[])
            .map(|_| ())
            .map_err(|_| "trunk.registrar: not a sip: or sips: URI".into()),
        // A link may require encryption, never relax it.
        "trunk.srtp" if value != "required" => {
            Err("trunk.srtp: a link may only set required".into())
        }
        "customers.country_code"
            if !(1..=3).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Err("customers.country_code: not a country calling code".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "switchboard://provision?trunk.user=agent42&trunk.registrar=sip%3A127.0.0.1%3A5999&customers.country_code=1";

    #[test]
    fn a_link_sets_only_its_keys_never_a_secret() {
        let link = LinkProvision::parse(LINK).expect("valid");
        assert_eq!(
            link.changes,
            [
                ("trunk.registrar", "sip:127.0.0.1:5999".to_owned()),
                ("trunk.user", "agent42".to_owned()),
                ("customers.country_code", "1".to_owned()),
            ]
        );
        for (bad, why) in [
            (
                "switchboard://provision?trunk.password=hunter2-x",
                "cannot be set by a link",
            ),
            (
                "switchboard://provision?trunk.password_env=X",
                "cannot be set by a link",
            ),
            (
                "switchboard://provision?customers.crm.url=https%3A%2F%2Fevil",
                "cannot be set",
            ),
            ("switchboard://provision?trunk.user=a&trunk.user=b", "twice"),
            ("switchboard://provision?trunk.srtp=maybe", "trunk.srtp"),
            (
                "switchboard://provision?trunk.srtp=off",
                "only set required",
            ),
            (
                "switchboard://provision?trunk.srtp=offer",
                "only set required",
            ),
            (
                "switchboard://provision?trunk.registrar=evil.test&trunk.user=a",
                "trunk.registrar",
            ),
            (
                "switchboard://provision?customers.country_code=%2B44",
                "country_code",
            ),
            (
                "switchboard://provision?ui.language=%0A",
                "not a usable value",
            ),
            ("switchboard://provision", "sets nothing"),
            (
                "switchboard://dial?trunk.user=a",
                "not a switchboard://provision link",
            ),
            (
                "https://provision/?trunk.user=a",
                "not a switchboard://provision link",
            ),
        ] {
            let e = LinkProvision::parse(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn the_offer_shows_what_changes_and_what_the_policy_keeps() {
        let effective = layer(
            (
                "policy",
                Ok(Some("[locked.customers]\ncountry_code = \"44\"\n".into())),
            ),
            ("user", Ok(Some("[ui]\nlanguage = \"en\"\n".into()))),
        );
        let offer = LinkProvision::parse(LINK)
            .expect("valid")
            .offer(7, &effective);
        assert_eq!(offer.id, 7);
        assert!(offer.asks_password);
        let country = &offer.changes[2];
        assert_eq!(
            (
                country.key.as_str(),
                country.from.as_str(),
                country.to.as_str(),
                country.managed
            ),
            ("customers.country_code", "44", "1", true)
        );
        assert_eq!(offer.changes[0].from, "");
        assert!(!offer.changes[0].managed);
    }

    #[test]
    fn confirmed_it_keeps_the_users_other_settings_and_names_the_password() {
        let link = LinkProvision::parse(LINK).expect("valid");
        let user = "[ui]\nlanguage = \"en\"\n[trunk]\nregistrar = \"sip:old\"\nuser = \"x\"\npassword_env = \"PW\"\n";
        let policy: Read = Ok(Some("[locked.customers]\ncountry_code = \"44\"\n".into()));
        let plan = link
            .provision(Some(user), &policy, Some("pw-typed-1"))
            .expect("valid");
        assert_eq!(plan.secret_names(), [PASSWORD_ENTRY]);
        let debug = format!("{plan:?}");
        assert!(
            debug.contains("agent42") && debug.contains("\"en\""),
            "{debug}"
        );
        assert!(
            !debug.contains("pw-typed-1") && !debug.contains("password_env"),
            "{debug}"
        );
        assert!(
            !debug.contains("country_code"),
            "the locked key is left: {debug}"
        );
        let none = link.provision(None, &Ok(None), None).expect("no password");
        assert!(none.secret_names().is_empty());
        // A new registrar does not inherit the old one's password or authorities.
        let old_trunk = "[trunk]\nregistrar = \"sip:127.0.0.1:5070\"\nuser = \"a\"\n\
                         password_keychain = \"old\"\ntls_roots = \"/etc/ca.pem\"\n";
        let moved = link
            .provision(Some(old_trunk), &Ok(None), None)
            .expect("valid");
        let debug = format!("{moved:?}");
        assert!(
            !debug.contains("password_keychain") && !debug.contains("tls_roots"),
            "{debug}"
        );
        let same =
            LinkProvision::parse("switchboard://provision?trunk.user=+15550100").expect("valid");
        assert_eq!(
            same.changes,
            [("trunk.user", "+15550100".to_owned())],
            "no + lost"
        );
        let kept = same
            .provision(Some(old_trunk), &Ok(None), None)
            .expect("valid");
        assert!(
            format!("{kept:?}").contains("password_keychain"),
            "same trunk, same password"
        );
        // Only the line: the policy brings the trunk; without it the settings would not work.
        let line =
            LinkProvision::parse("switchboard://provision?trunk.user=agent42").expect("valid");
        let trunk: Read = Ok(Some(
            "[locked.trunk]\nregistrar = \"sip:127.0.0.1:5999\"\n".into(),
        ));
        assert!(line.provision(None, &trunk, None).is_ok());
        let e = line
            .provision(None, &Ok(None), None)
            .expect_err("no registrar");
        assert!(e.contains("registrar"), "{e}");
        assert!(link.provision(Some("[ui\n"), &Ok(None), None).is_err());
    }
}
