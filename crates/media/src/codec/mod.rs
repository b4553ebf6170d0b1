//! Audio codecs. Opus is the one negotiated today; G.711 joins it with the audio-engine work.

pub mod opus;
