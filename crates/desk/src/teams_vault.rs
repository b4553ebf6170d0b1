//! The Microsoft 365 sign-in kept in the OS keychain: the teams crate's [`Vault`] over
//! [`crate::keychain`]. One entry per tenant (`microsoft365/<tenant>`), holding the refresh
//! token and the account's name as JSON; sign-out deletes it.

use switchboard_teams::{Saved, Vault};

use crate::keychain::{self, KeychainError};

pub struct KeychainVault {
    name: String,
}

impl KeychainVault {
    pub fn for_tenant(tenant: &str) -> Self {
        Self {
            name: entry_name(tenant),
        }
    }

    /// The keychain entry's name (what an uninstall removes).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The entry a tenant's sign-in is kept under.
pub fn entry_name(tenant: &str) -> String {
    format!("microsoft365/{}", tenant.to_ascii_lowercase())
}

impl Vault for KeychainVault {
    fn load(&self) -> Result<Option<Saved>, String> {
        let text = match keychain::read(&self.name) {
            Ok(text) => text,
            Err(KeychainError::Missing(_)) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        match serde_json::from_str(&text) {
            Ok(saved) => Ok(Some(saved)),
            // Not ours to read (another version, a hand edit): as if nothing were kept, so
            // the agent signs in again; the error names the entry, never what is in it.
            Err(_) => {
                tracing::warn!(
                    "the keychain entry {:?} is not a sign-in this version reads; signing in again replaces it",
                    self.name
                );
                Ok(None)
            }
        }
    }

    fn save(&self, saved: &Saved) -> Result<(), String> {
        let text = serde_json::to_string(saved).map_err(|e| e.to_string())?;
        keychain::store(&self.name, &text).map_err(|e| e.to_string())
    }

    fn clear(&self) -> Result<(), String> {
        keychain::delete(&self.name).map_err(|e| e.to_string())
    }
}
