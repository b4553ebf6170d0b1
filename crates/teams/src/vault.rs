//! Where the refresh token is kept between runs: the OS keychain, behind this trait so the
//! layer that owns the keychain (the desk) provides it and tests can see what was kept. Only
//! the refresh token and the account's name are kept; access tokens live in memory, for an
//! hour at most.

use serde::{Deserialize, Serialize};

/// What one signed-in account leaves in the keychain.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub refresh_token: String,
    pub account: Option<String>,
}

impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saved")
            .field("refresh_token", &"<redacted>")
            .field("account", &self.account)
            .finish()
    }
}

/// Calls may block on the platform's store; the session makes them off the async threads.
pub trait Vault: Send + Sync + 'static {
    fn load(&self) -> Result<Option<Saved>, String>;
    fn save(&self, saved: &Saved) -> Result<(), String>;
    /// Removes what is kept; nothing kept is not an error.
    fn clear(&self) -> Result<(), String>;
}
