//! What the app does before the window shows: logging, settings, the engine.

use std::path::PathBuf;

use switchboard_desk::availability_file;
use switchboard_desk::{
    AccountConfig, AgentState, AudioInput, AudioOutput, DeviceChoice, Engine, EngineConfig,
    EngineEvent, Ringing, Settings, SrtpPolicy,
};
use tokio::sync::mpsc::UnboundedReceiver;

pub fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("info,{}", switchboard_desk::QUIET_LOGS))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `SWITCHBOARD_SETTINGS` names the settings file; otherwise the platform's config directory.
fn settings_path() -> Option<PathBuf> {
    std::env::var_os("SWITCHBOARD_SETTINGS")
        .map(PathBuf::from)
        .or_else(Settings::default_path)
}

pub async fn start_engine() -> anyhow::Result<(Engine, UnboundedReceiver<EngineEvent>)> {
    let settings = match settings_path() {
        Some(path) => Settings::load(&path).unwrap_or_else(|e| {
            // A broken file must not keep the agent from working: say so, run practice.
            tracing::error!("settings ignored: {e}");
            Settings::default()
        }),
        None => Settings::default(),
    };
    let (account, practice, srtp) = match &settings.trunk {
        Some(trunk) => (trunk.account()?, false, trunk.srtp),
        None => (AccountConfig::new("agent"), true, SrtpPolicy::default()),
    };
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
        availability: availability(&settings),
        auto_answer: false,
        call_waiting: settings.agent.call_waiting,
        practice,
        srtp,
    };
    Ok(Engine::start(config).await?)
}

/// The policy's agent states, starting where the last run left off. A first run starts
/// available: the window has no state menu yet.
fn availability(settings: &Settings) -> switchboard_desk::AvailabilityConfig {
    let path = availability_file::default_path();
    let saved = path.as_deref().and_then(availability_file::load);
    let mut config = settings
        .agent
        .availability(saved.or(Some(AgentState::Available)));
    config.state_file = path;
    config
}
