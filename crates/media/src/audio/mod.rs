//! Where audio comes from and goes to: sound devices (cpal, and libpulse on a PulseAudio
//! server) and WAV files.

pub mod backlog;
pub mod catalog;
pub mod device;
pub mod file;
mod pulse;
pub mod resample;
pub mod ringer;
pub mod route;
