//! Receive-side buffering: sequence extension and the jitter buffer.

mod buffer;
mod seq;

pub use buffer::{JitterBuffer, JitterConfig, JitterStats, Playout};
pub use seq::{SeqExtender, SeqNo};
