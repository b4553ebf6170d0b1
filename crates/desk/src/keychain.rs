//! Secrets in the OS keychain (the Secret Service on Linux, through `keyring`): a CRM's API
//! token today, the trunk's password and Microsoft 365 tokens next. Entries are the service
//! "switchboard" with the secret's name as the user. Values never reach logs or files; errors
//! name the secret, never its value.
//!
//! Calls block on the platform's store: use them from a blocking context.

use thiserror::Error;

const SERVICE: &str = "switchboard";

#[derive(Debug, Error)]
pub enum KeychainError {
    #[error("the keychain has no secret {0:?}")]
    Missing(String),
    #[error("the OS keychain cannot be reached ({0}): is a keyring running and unlocked?")]
    Unavailable(String),
    #[error("the keychain refused secret {name:?}: {reason}")]
    Refused { name: String, reason: String },
}

fn entry(name: &str) -> Result<keyring::Entry, KeychainError> {
    keyring::Entry::new(SERVICE, name).map_err(|e| failure(name, e))
}

fn failure(name: &str, e: keyring::Error) -> KeychainError {
    match e {
        keyring::Error::NoEntry => KeychainError::Missing(name.to_owned()),
        keyring::Error::NoStorageAccess(why) | keyring::Error::PlatformFailure(why) => {
            KeychainError::Unavailable(why.to_string())
        }
        other => KeychainError::Refused {
            name: name.to_owned(),
            reason: other.to_string(),
        },
    }
}

pub fn read(name: &str) -> Result<String, KeychainError> {
    entry(name)?.get_password().map_err(|e| failure(name, e))
}

pub fn store(name: &str, secret: &str) -> Result<(), KeychainError> {
    entry(name)?
        .set_password(secret)
        .map_err(|e| failure(name, e))
}

/// Removes the secret; one that is not there is not an error.
pub fn delete(name: &str) -> Result<(), KeychainError> {
    match entry(name)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(failure(name, e)),
    }
}
