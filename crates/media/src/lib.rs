//! The media layer: audio in and out (devices, files), Opus, RTP over UDP, the jitter buffer and
//! statistics. It knows nothing of SIP: the desk hands it a negotiated [`sdp::Negotiated`].

pub mod audio;
pub mod bridge;
pub mod codec;
pub mod dtmf;
pub mod error;
pub mod format;
pub mod impair;
pub mod jitter;
pub mod latch;
pub mod latency;
pub mod ports;
pub mod quality;
pub mod random;
pub mod rtcp;
pub mod rtcp_path;
pub mod rtp;
pub mod sdp;
pub mod session;
pub mod srtp;
pub mod stats;
#[cfg(test)]
mod testing;
pub mod voice;

pub use error::MediaError;
pub use session::{
    AudioInput, AudioOutput, DeviceSwitch, MediaEvent, MediaListener, MediaSession, SessionConfig,
};
pub use stats::MediaStats;
