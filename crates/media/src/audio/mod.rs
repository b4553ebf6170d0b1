//! Where audio comes from and goes to: sound devices (cpal) and WAV files.

pub mod device;
pub mod file;
