use std::fmt::Display;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    #[error("codec: {0}")]
    Codec(String),
    #[error("SDP: {0}")]
    Sdp(String),
    #[error("no common codec in the remote offer (we speak opus/48000, PCMU/8000 and PCMA/8000)")]
    NoCommonCodec,
    /// SRTP could not be agreed (the policy, or the peer's keys) or set up.
    #[error("SRTP: {0}")]
    Srtp(String),
    #[error("audio file {path}: {reason}")]
    AudioFile { path: String, reason: String },
    #[error("audio device: {0}")]
    Device(String),
    #[error("DTMF: {0}")]
    Dtmf(String),
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaError {
    pub(crate) fn codec(e: impl Display) -> Self {
        MediaError::Codec(e.to_string())
    }

    pub(crate) fn srtp(e: impl Display) -> Self {
        MediaError::Srtp(e.to_string())
    }
}
