//! Where audio comes from and goes to: sound devices (cpal) and WAV files.

pub mod catalog;
pub mod device;
pub mod file;
pub mod ringer;
pub mod route;
