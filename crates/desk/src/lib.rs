//! The agent engine. It joins the SIP user agent and the media layer into calls, keeps the one
//! source of truth the UI and the CLI render ([`Snapshot`]), and runs the practice line.

pub mod availability;
pub mod availability_file;
pub mod call;
pub mod crm;
mod crm_settings;
pub mod devices;
pub mod diagnostics;
pub mod dial_link;
pub mod directory;
pub mod engine;
pub mod error;
mod escalation;
pub mod event;
pub mod keychain;
pub mod log_file;
pub mod logging_settings;
pub mod media_settings;
mod mid_call;
pub mod phone;
pub mod policy;
pub mod policy_preset;
pub mod practice;
mod practice_experts;
pub mod provision;
pub mod provision_link;
pub mod records;
pub mod screen_pop;
pub mod settings;
pub mod settings_view;
pub mod snapshot;
pub mod store;
pub mod teams_link;
pub mod teams_roster;
pub mod teams_settings;
pub mod teams_vault;
mod toml_file;
pub mod updates;

pub use availability::{AgentState, Cause as StateCause, Choice as StateChoice, WrapUpPolicy};
pub use devices::{DeviceChoice, Ringing};
pub use engine::{AvailabilityConfig, Engine, EngineConfig, RecordsConfig};

/// Log filter directives for libraries that say too much: rsipstack logs every datagram at
/// info, and the PulseAudio client calls its own orderly disconnect an error.
pub const QUIET_LOGS: &str = "rsipstack=warn,pulseaudio=warn,pulseaudio::client::reactor=off";
pub use error::DeskError;
pub use event::EngineEvent;
pub use settings::{Settings, SettingsError};
pub use snapshot::{CallView, RegistrationView, Snapshot};

pub use switchboard_media::audio::catalog::{
    list as audio_devices, AudioDevice, DeviceList, Direction as DeviceDirection,
};
pub use switchboard_media::codec::Codec;
pub use switchboard_media::srtp::SrtpPolicy;
pub use switchboard_media::voice::VoiceConfig;
pub use switchboard_media::{AudioInput, AudioOutput, MediaStats};
pub use switchboard_sip::{AccountConfig, CallId, EndReason, Password, Transport, TrunkUri};
