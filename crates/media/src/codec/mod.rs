//! Audio codecs. Opus is the one negotiated today; G.711 (here, not yet offered in SDP) joins
//! it with the audio-engine work.

pub mod g711;
pub mod opus;
