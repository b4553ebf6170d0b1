//! The agent's SIP user agent. rsipstack does transactions and dialogs in [`driver`]; what we
//! decide ourselves (when to re-register, whom to trust) are sans-IO cores beside it. SDP bodies
//! pass through as opaque text: the media layer reads them, not this crate.

pub mod config;
mod dialog_events;
pub mod digest_cache;
pub mod digest_spelling;
pub mod driver;
pub mod dtmf_relay;
pub mod error;
pub mod event;
mod flow;
pub mod grammar;
mod incoming;
mod keepalive;
pub mod locate;
pub mod name_addr;
mod outgoing;
mod random;
mod register_loop;
pub mod registration;
pub mod replaces;
pub mod screen;
mod session_refresh;
pub mod session_timer;
pub mod sipfrag;
pub mod stateless_reply;
pub mod trunk_link;
pub mod trunk_uri;
pub mod trust;
mod udp_guard;
pub mod wire;

pub use config::{AccountConfig, Password};
pub use driver::SipAgent;
pub use error::SipError;
pub use event::{CallId, EndReason, SipEvent};
pub use trunk_uri::{Transport, TrunkUri};
