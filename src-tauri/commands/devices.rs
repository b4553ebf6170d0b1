//! The sound-device picker.

use switchboard_desk::{DeviceChoice, Engine};
use tauri::State;

use crate::error::CommandError;

/// Uses the agent's choice at once (in the calls in progress too) and remembers it.
#[tauri::command]
pub fn choose_devices(engine: State<'_, Engine>, choice: DeviceChoice) -> Result<(), CommandError> {
    engine.use_devices(choice.clone())?;
    if let Some(path) = DeviceChoice::default_path() {
        choice.save(&path).map_err(|e| CommandError {
            code: "notSaved",
            message: format!("the devices are in use, but not remembered: {e}"),
        })?;
    }
    Ok(())
}
