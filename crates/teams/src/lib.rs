//! Microsoft Teams side of escalation: Microsoft 365 sign-in (browser with PKCE, or device
//! code), the tokens kept in the OS keychain, the presence model and the polling plan, and the Graph calls:
//! presence polled in batches, group members, the user search (see DESIGN.md, "Microsoft Teams facts").

pub mod authorize;
pub mod cloud;
pub mod device_code;
pub mod graph;
pub mod graph_answer;
pub mod http;
pub mod identity;
pub mod loopback;
pub mod pkce;
pub mod poll_plan;
pub mod presence;
pub mod presence_board;
pub mod presence_watch;
pub mod session;
pub mod token;
pub mod vault;

pub use cloud::{Client, Cloud};
pub use presence::{Activity, Availability, Presence};
pub use session::{Session, SignInError, SignInView};
pub use vault::{Saved, Vault};
