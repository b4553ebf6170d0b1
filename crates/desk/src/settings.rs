//! The user's settings file (TOML). Machine policy layers over it later; for now it says which
//! trunk to use, and without one the app runs the practice line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use switchboard_media::srtp::SrtpPolicy;
use switchboard_media::voice::VoiceConfig;
pub use switchboard_sip::locate::parse_dns_server;
use switchboard_sip::{AccountConfig, Password, TrunkUri};

use crate::availability::{AgentState, AvailabilityConfig, Choice, WrapUpPolicy};
pub use crate::crm_settings::{CrmSettings, Secrets, SystemSecrets};
use crate::directory::ExpertSettings;
pub use crate::logging_settings::{LogLevel, LoggingSettings};
pub use crate::media_settings::MediaSettings;
use crate::phone::NumberPlan;
use crate::records::RecordsConfig;
pub use crate::teams_settings::{SkillGroup, TeamsSettings};
pub use crate::updates::UpdateSettings;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SettingsError {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub trunk: Option<TrunkSettings>,
    #[serde(default)]
    pub agent: AgentSettings,
    #[serde(default)]
    pub customers: CustomerSettings,
    /// The experts to escalate to (`[[experts]]`); with `[teams]`, the Teams groups add theirs.
    #[serde(default)]
    pub experts: Vec<ExpertSettings>,
    #[serde(default)]
    pub ui: UiSettings,
    /// The microphone's processing: `echo_cancellation`, `noise_suppression`, `gain_control`.
    #[serde(default)]
    pub voice: VoiceConfig,
    /// Microsoft 365: sign-in, Teams presence, experts from Teams groups.
    pub teams: Option<TeamsSettings>,
    /// How much goes into the log.
    #[serde(default)]
    pub logging: LoggingSettings,
    /// Which codecs calls may use.
    #[serde(default)]
    pub media: MediaSettings,
    /// Whether and from where the app updates itself.
    #[serde(default)]
    pub updates: UpdateSettings,
}

/// How the agent's line behaves, and the states IT defines for it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSettings {
    /// A second call rings while on a call (true), or is refused busy (false).
    pub call_waiting: bool,
    /// The reasons an agent may give for not being ready.
    pub not_ready_reasons: Vec<String>,
    /// After-call work, in seconds; 0: none.
    pub wrap_up_secs: u64,
    /// Where wrap-up's timer leads: `available`, or `not_ready` (with the first reason).
    pub after_wrap_up: AfterWrapUp,
    /// Wrap-up cannot end without a disposition.
    pub disposition_required: bool,
    /// The codes a call is filed under after it.
    pub dispositions: Vec<String>,
}

/// The window.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct UiSettings {
    /// "en", "zh-Hans" or "zh-Hant" (or a tag such as "zh-TW"); unset: the system's language.
    pub language: Option<String>,
    /// Global hotkey that answers the ringing call ("" for none).
    pub answer_key: String,
    /// Global hotkey that declines the ringing call, or hangs up the one the agent talks on.
    pub hangup_key: String,
}

impl Default for UiSettings {
    fn default() -> Self {
        Self {
            language: None,
            answer_key: "Ctrl+Alt+A".into(),
            hangup_key: "Ctrl+Alt+H".into(),
        }
    }
}

/// How callers are matched to customer records.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CustomerSettings {
    /// The country calling code of numbers that arrive without one ("1", "44", "86").
    pub country_code: String,
    /// The HTTP connector to a CRM; without it records come from the embedded store.
    pub crm: Option<CrmSettings>,
}

impl Default for CustomerSettings {
    fn default() -> Self {
        Self {
            country_code: "1".into(),
            crm: None,
        }
    }
}

impl CustomerSettings {
    /// The records' configuration, in the store at `store`; the CRM's secret headers are read
    /// from the process environment.
    pub fn records(&self, store: Option<PathBuf>) -> Result<RecordsConfig, String> {
        let valid = (1..=3).contains(&self.country_code.len())
            && self.country_code.bytes().all(|b| b.is_ascii_digit())
            && !self.country_code.starts_with('0');
        if !valid {
            return Err(format!(
                "customers.country_code {:?} is not a country calling code (1 to 3 digits)",
                self.country_code
            ));
        }
        let crm = self
            .crm
            .as_ref()
            .map(|c| c.connector(&crate::crm_settings::SystemSecrets))
            .transpose()?;
        Ok(RecordsConfig {
            store,
            number_plan: NumberPlan::for_country(&self.country_code),
            crm,
        })
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AfterWrapUp {
    #[default]
    Available,
    NotReady,
}

impl Default for AgentSettings {
    fn default() -> Self {
        let defaults = AvailabilityConfig::default();
        Self {
            call_waiting: true,
            not_ready_reasons: defaults.reasons,
            wrap_up_secs: defaults.wrap_up.duration.map_or(0, |d| d.as_secs()),
            after_wrap_up: AfterWrapUp::Available,
            disposition_required: false,
            dispositions: defaults.dispositions,
        }
    }
}

impl AgentSettings {
    /// The engine's agent-state policy, starting from `saved` (the last run's state).
    pub fn availability(&self, saved: Option<AgentState>) -> AvailabilityConfig {
        let then = match (self.after_wrap_up, self.not_ready_reasons.first()) {
            (AfterWrapUp::NotReady, Some(reason)) => Choice::NotReady {
                reason: reason.clone(),
            },
            _ => Choice::Available,
        };
        AvailabilityConfig {
            wrap_up: WrapUpPolicy {
                duration: Some(Duration::from_secs(self.wrap_up_secs)),
                then,
                disposition_required: self.disposition_required,
            },
            reasons: self.not_ready_reasons.clone(),
            dispositions: self.dispositions.clone(),
            start: saved,
            state_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TrunkSettings {
    /// `sip:HOST[:PORT][;transport=udp|tcp|tls]` or `sips:HOST[:PORT]`; a host without a
    /// port is looked up by DNS SRV.
    pub registrar: String,
    /// More trunk addresses, tried in order when the registrar does not answer (or is busy).
    #[serde(default)]
    pub alternates: Vec<String>,
    /// Our address-of-record's domain, when it is not the registrar's host.
    pub domain: Option<String>,
    /// PEM file of the certificate authorities a TLS trunk must chain to (default: the
    /// system's store).
    pub tls_roots: Option<PathBuf>,
    /// Name servers to locate the trunk with, `IP` or `IP:PORT` (default: the system's).
    #[serde(default)]
    pub dns_servers: Vec<String>,
    /// This desk's line on the trunk. A machine policy sets the trunk for every desk and leaves
    /// it out; provisioning fills it in.
    #[serde(default)]
    pub user: Option<String>,
    pub display_name: Option<String>,
    /// Whether calls are encrypted: "off", "offer" (the default: SRTP whenever the other end
    /// takes it) or "required" (a call that will not be encrypted is refused).
    #[serde(default)]
    pub srtp: SrtpPolicy,
    /// The password's name in the OS keychain (`switchboard-cli secret set NAME`).
    pub password_keychain: Option<String>,
    /// Environment variable holding the password, where no keychain is available; a password
    /// is never written in this file.
    pub password_env: Option<String>,
}

impl Settings {
    /// The default location: `$XDG_CONFIG_HOME/switchboard/settings.toml` (or the platform's).
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("switchboard").join("settings.toml"))
    }

    /// The user's settings file: `SWITCHBOARD_SETTINGS` names it, else the default location.
    pub fn user_path() -> Option<PathBuf> {
        std::env::var_os("SWITCHBOARD_SETTINGS")
            .map(PathBuf::from)
            .or_else(Self::default_path)
    }

    /// Reads a settings file; a missing file is the default (practice mode), a malformed one is
    /// an error naming the file and the problem.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let err = |reason: String| SettingsError {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }
}

impl TrunkSettings {
    pub fn account(&self) -> Result<AccountConfig, SettingsError> {
        let err = |reason: String| SettingsError {
            path: "trunk".into(),
            reason,
        };
        let user = self.user.clone().ok_or_else(|| {
            err("user is not set: this desk's line is not provisioned yet \
                 (switchboard --provision FILE)"
                .into())
        })?;
        let mut account = AccountConfig::new(user);
        account.trunk = trunk_uris(&self.registrar, &self.alternates).map_err(err)?;
        account.domain = self.domain.clone();
        account.tls_roots = self.tls_roots.clone();
        account.dns_servers = self
            .dns_servers
            .iter()
            .map(|s| parse_dns_server(s))
            .collect::<Result<_, _>>()
            .map_err(err)?;
        account.display_name = self.display_name.clone();
        account.bind = SocketAddr::from(([0, 0, 0, 0], 0));
        if let Some(name) = &self.password_keychain {
            let password =
                crate::keychain::read(name).map_err(|e| err(format!("password_keychain: {e}")))?;
            account.password = Password::new(password);
        } else if let Some(var) = &self.password_env {
            let password = std::env::var(var).map_err(|_| {
                err(format!(
                    "environment variable {var} (password_env) is not set"
                ))
            })?;
            account.password = Password::new(password);
        }
        Ok(account)
    }
}

/// The registrar first, then the alternates, each a trunk URI.
pub fn trunk_uris(registrar: &str, alternates: &[String]) -> Result<Vec<TrunkUri>, String> {
    std::iter::once(registrar)
        .chain(alternates.iter().map(String::as_str))
        .map(TrunkUri::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registrar_comes_first_then_the_alternates() {
        let uris = trunk_uris("sip:127.0.0.1:5080", &["sips:trunk.test".into()]).expect("valid");
        let shown: Vec<String> = uris.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["sip:127.0.0.1:5080", "sips:trunk.test"]);
        let bad = trunk_uris("sip:127.0.0.1", &["127.0.0.1:5060".into()]).expect_err("bad");
        assert!(bad.contains("127.0.0.1:5060"), "{bad}");
        assert!(trunk_uris("sip:", &[]).is_err());
    }

    #[test]
    fn call_waiting_is_on_unless_the_agent_section_turns_it_off() {
        let parse = |text: &str| toml::from_str::<Settings>(text);
        assert!(Settings::default().agent.call_waiting);
        assert!(
            parse("[agent]\n")
                .expect("empty section")
                .agent
                .call_waiting
        );
        let off = parse("[agent]\ncall_waiting = false\n").expect("parses");
        assert!(!off.agent.call_waiting);
        let typo = parse("[agent]\ncall_wating = false\n").expect_err("unknown key");
        assert!(typo.to_string().contains("call_wating"), "{typo}");
    }

    #[test]
    fn the_agent_section_sets_reasons_and_wrap_up() {
        let settings: Settings = toml::from_str(
            "[agent]\nnot_ready_reasons = [\"Coaching\", \"Lunch\"]\nwrap_up_secs = 45\n\
             after_wrap_up = \"not_ready\"\ndisposition_required = true\n",
        )
        .expect("valid");
        let config = settings.agent.availability(None);
        assert_eq!(config.reasons, ["Coaching", "Lunch"]);
        assert_eq!(config.wrap_up.duration, Some(Duration::from_secs(45)));
        assert_eq!(
            config.wrap_up.then,
            Choice::NotReady {
                reason: "Coaching".into()
            }
        );
        assert!(config.wrap_up.disposition_required);
        assert_eq!(config.dispositions.len(), 4, "the usual codes by default");
        let codes: Settings =
            toml::from_str("[agent]\ndispositions = [\"Sale\", \"No sale\"]\n").expect("valid");
        assert_eq!(
            codes.agent.availability(None).dispositions,
            ["Sale", "No sale"]
        );
        let defaults = Settings::default().agent.availability(None);
        assert_eq!(defaults.wrap_up.duration, Some(Duration::from_secs(30)));
        assert_eq!(defaults.wrap_up.then, Choice::Available);
        assert!(toml::from_str::<Settings>("[agent]\nafter_wrap_up = \"lunch\"\n").is_err());
    }

    #[test]
    fn the_customers_country_code_sets_how_national_numbers_are_read() {
        let uk: Settings = toml::from_str("[customers]\ncountry_code = \"44\"\n").expect("valid");
        let records = uk.customers.records(None).expect("valid code");
        assert_eq!(
            records.number_plan.e164("020 7946 0123").as_deref(),
            Some("+442079460123")
        );
        for bad in ["0", "1234", "+1", "x"] {
            let s: Settings =
                toml::from_str(&format!("[customers]\ncountry_code = {bad:?}\n")).expect("parses");
            let err = s.customers.records(None).expect_err("refused");
            assert!(err.contains("country_code"), "{err}");
        }
    }

    #[test]
    fn missing_file_means_practice_and_bad_files_name_the_problem() {
        let dir = std::env::temp_dir().join(format!("sb-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        assert_eq!(
            Settings::load(&dir.join("none.toml")).expect("default"),
            Settings::default()
        );

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[trunk]\nregistrar = 5\n").expect("write");
        let e = Settings::load(&bad).expect_err("type error");
        assert!(
            e.to_string().contains("bad.toml") && e.to_string().contains("registrar"),
            "{e}"
        );

        let typo = dir.join("typo.toml");
        std::fs::write(
            &typo,
            "[trunk]\nregistrar = \"sip:127.0.0.1\"\nuser = \"a\"\npasword = \"x\"\n",
        )
        .expect("write");
        assert!(Settings::load(&typo)
            .expect_err("unknown key")
            .to_string()
            .contains("pasword"));

        let good = dir.join("good.toml");
        std::fs::write(
            &good,
            "[trunk]\nregistrar = \"sip:127.0.0.1:5070\"\nuser = \"agent7\"\n",
        )
        .expect("write");
        let s = Settings::load(&good).expect("valid");
        let account = s.trunk.expect("trunk").account().expect("account");
        let trunk: Vec<String> = account.trunk.iter().map(ToString::to_string).collect();
        assert_eq!(trunk, ["sip:127.0.0.1:5070"]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
