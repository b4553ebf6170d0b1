//! The agent's SIP user agent. rsipstack does transactions and dialogs in [`driver`]; what we
//! decide ourselves (when to re-register, whom to trust) are sans-IO cores beside it. SDP bodies
//! pass through as opaque text: the media layer reads them, not this crate.

pub mod config;
pub mod driver;
pub mod error;
pub mod event;
pub mod name_addr;
pub mod registration;
pub mod trust;

pub use config::{AccountConfig, Password};
pub use driver::SipAgent;
pub use error::SipError;
pub use event::{CallId, EndReason, SipEvent};
