//! Microsoft Teams side of escalation: the presence model today; sign-in, Graph polling and the
//! expert directory join it (see DESIGN.md, "Microsoft Teams facts").

pub mod poll_plan;
pub mod presence;

pub use presence::{Activity, Availability, Presence};
