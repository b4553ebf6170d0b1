//! Errors as the UI receives them: a stable code to branch on and a message to show.

use serde::Serialize;
use switchboard_desk::DeskError;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl From<DeskError> for CommandError {
    fn from(e: DeskError) -> Self {
        let code = match e {
            DeskError::NoSuchCall => "noSuchCall",
            DeskError::Stopped => "engineStopped",
            _ => "engine",
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}
