//! Receive-side buffering, sans-IO: packets in with their arrival instant, 20 ms frames out at
//! each tick's instant. [`Playout`] is the whole; the other modules are its parts.

mod conceal;
mod delay;
mod packets;
mod playout;
pub mod replay;
mod seq;
mod stretch;

pub use delay::DelayConfig;
pub use playout::{Playout, PlayoutConfig, PlayoutStats, Pull};
pub use seq::{SeqExtender, SeqNo, TimestampExtender};
