//! What the app does before the window shows: logging, settings, the engine.

use std::sync::Arc;

use switchboard_desk::availability_file;
use switchboard_desk::log_file::{self, LogFile};
use switchboard_desk::phone::NumberPlan;
use switchboard_desk::policy;
use switchboard_desk::settings::{LoggingSettings, UiSettings};
use switchboard_desk::settings_view::SettingsView;
use switchboard_desk::store::Store;
use switchboard_desk::teams_link::{TeamsFeed, TeamsLink};
use switchboard_desk::teams_vault::KeychainVault;
use switchboard_desk::{
    AccountConfig, AgentState, AudioInput, AudioOutput, DeviceChoice, Engine, EngineConfig,
    EngineEvent, RecordsConfig, Ringing, Settings, SrtpPolicy,
};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::commands::teams::Teams;

/// Logs to standard error and, with `to_file`, to the rolling file in the platform's log
/// directory, at the level the settings give (`SWITCHBOARD_LOG` overrides it). A log directory
/// that cannot be written leaves standard error only: a read-only home must not keep the agent
/// from working.
pub fn init_logging(settings: &LoggingSettings, to_file: bool) {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(settings.level.filter()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    let file = log_file::log_dir()
        .filter(|_| to_file)
        .map(|dir| LogFile::open(&dir).map_err(|e| format!("{}: {e}", dir.display())));
    match file {
        Some(Ok(log)) => {
            let _ = builder
                .with_writer(std::io::stderr.and(move || log.clone()))
                .try_init();
        }
        unwritable => {
            let _ = builder.with_writer(std::io::stderr).try_init();
            if let Some(Err(problem)) = unwritable {
                tracing::warn!("no log file: {problem}");
            }
        }
    }
}

/// The machine policy over the user's settings, its problems logged. A file that cannot be
/// used must not keep the agent from working: it is reported and the rest applies.
pub fn report(effective: &policy::Effective) {
    for problem in &effective.problems {
        tracing::error!("{problem}");
    }
    if !effective.locked.is_empty() {
        tracing::info!(locked = ?effective.locked, "settings managed by the machine policy");
    }
}

/// Applies a provisioning file to this user's settings (see `switchboard_desk::provision`),
/// and says what was done on standard output, never a secret.
pub fn provision(file: &std::path::Path, remove: bool) -> anyhow::Result<()> {
    let target = Settings::user_path().ok_or_else(|| anyhow::anyhow!("no config directory"))?;
    let done = switchboard_desk::provision::apply_file(file, &target, remove)
        .map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string(&done)?);
    Ok(())
}

/// Lays an installer's preset into the machine policy (see `switchboard_desk::policy_preset`)
/// and says which keys it set.
pub fn write_policy(args: &[String]) -> anyhow::Result<()> {
    let preset =
        switchboard_desk::policy_preset::Preset::from_args(args).map_err(anyhow::Error::msg)?;
    let path = policy::machine_path();
    let keys =
        switchboard_desk::policy_preset::write(&path, &preset).map_err(anyhow::Error::msg)?;
    let report = serde_json::json!({ "policy": path.display().to_string(), "set": keys, "locked": preset.lock });
    println!("{report}");
    Ok(())
}

/// Writes a diagnostics bundle (see `switchboard_desk::diagnostics`) and says where on
/// standard output.
pub fn diagnostics(
    mut effective: policy::Effective,
    out: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    effective.try_in_use();
    let report = switchboard_desk::diagnostics::of_this_desk(&effective, versions(), out)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The app's versions a diagnostics bundle names (the OS's are added by the bundle).
pub fn versions() -> Vec<(String, String)> {
    let mut versions = vec![(
        "switchboard".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    )];
    if let Ok(webview) = tauri::webview_version() {
        versions.push(("webview".to_owned(), webview));
    }
    versions
}

pub struct Started {
    /// The settings in effect with every problem found starting on them.
    pub effective: policy::Effective,
    pub engine: Engine,
    pub events: UnboundedReceiver<EngineEvent>,
    pub ui: UiSettings,
    pub teams: Teams,
}

pub async fn start_engine(mut effective: policy::Effective) -> anyhow::Result<Started> {
    let (account, practice, srtp) = match effective.try_in_use() {
        Some((account, srtp)) => (account, false, srtp),
        None => (AccountConfig::new("agent"), true, SrtpPolicy::default()),
    };
    let settings = effective.settings.clone();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        practice,
        "Switchboard starting"
    );
    let devices = DeviceChoice::default_path()
        .map(|p| DeviceChoice::load(&p))
        .unwrap_or_default();
    let config = EngineConfig {
        account,
        input: AudioInput::Device(devices.microphone.clone()),
        output: AudioOutput::Device(devices.speaker.clone()),
        devices,
        ringing: Ringing::On,
        voice: settings.voice,
        availability: availability(&settings, practice),
        records: records(&settings),
        directory: switchboard_desk::directory::from_settings(&settings.experts),
        language: settings.ui.language.clone(),
        auto_answer: false,
        call_waiting: settings.agent.call_waiting,
        practice,
        srtp,
        codecs: settings.media.codecs(),
    };
    let (engine, events) = Engine::start(config).await?;
    engine.show_settings(SettingsView::of(&effective))?;
    let teams = teams(&settings, &engine);
    Ok(Started {
        effective,
        engine,
        events,
        ui: settings.ui.clone(),
        teams,
    })
}

/// Microsoft 365, when `[teams]` is set: its experts and presence go to the engine as they
/// change. A section that cannot be used is reported and the desk runs without it.
fn teams(settings: &Settings, engine: &Engine) -> Teams {
    let plan = NumberPlan::for_country(&settings.customers.country_code);
    let Some(section) = &settings.teams else {
        return Teams::new(None, plan);
    };
    let vault = Arc::new(KeychainVault::for_tenant(&section.tenant));
    let link = match TeamsLink::start(section, &settings.experts, plan.clone(), vault) {
        Ok(link) => link,
        Err(e) => {
            tracing::error!("settings: {e}; Microsoft 365 is off");
            return Teams::new(None, plan);
        }
    };
    let mut feed = link.feed();
    let engine = engine.clone();
    tokio::spawn(async move {
        loop {
            let TeamsFeed { experts, view } = feed.borrow_and_update().clone();
            if engine.show_directory(experts, view).is_err() || feed.changed().await.is_err() {
                return;
            }
        }
    });
    Teams::new(Some(link), plan)
}

/// The customer store and history in the data directory; a bad country code is reported and
/// the default plan used (the calls still ring, the lookups may miss).
fn records(settings: &Settings) -> RecordsConfig {
    let store = Store::default_path();
    settings
        .customers
        .records(store.clone())
        .unwrap_or_else(|e| {
            tracing::error!("settings: {e}; reading numbers as North American");
            RecordsConfig {
                store,
                ..RecordsConfig::default()
            }
        })
}

/// The policy's agent states, starting where the last run left off. A first run on a trunk
/// starts offline (no customer rings through before the agent says they are ready); a first
/// practice run starts available, so that the newcomer's first call comes at once.
fn availability(settings: &Settings, practice: bool) -> switchboard_desk::AvailabilityConfig {
    let path = availability_file::default_path();
    let saved = path.as_deref().and_then(availability_file::load);
    let first = practice.then_some(AgentState::Available);
    let mut config = settings.agent.availability(saved.or(first));
    config.state_file = path;
    config
}
