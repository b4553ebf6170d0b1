//! The agent's desk: state menu, notes, disposition, history.

use switchboard_desk::store::HistoryEntry;
use switchboard_desk::{CallId, Engine, StateChoice};
use tauri::State;

use crate::error::CommandError;

#[tauri::command]
pub fn choose_state(engine: State<'_, Engine>, choice: StateChoice) -> Result<(), CommandError> {
    Ok(engine.choose_state(choice)?)
}

#[tauri::command]
pub fn set_notes(
    engine: State<'_, Engine>,
    call: String,
    notes: String,
) -> Result<(), CommandError> {
    Ok(engine.set_notes(CallId(call), notes)?)
}

#[tauri::command]
pub fn set_disposition(
    engine: State<'_, Engine>,
    call: String,
    code: String,
) -> Result<(), CommandError> {
    Ok(engine.set_disposition(CallId(call), code)?)
}

#[tauri::command]
pub async fn history(
    engine: State<'_, Engine>,
    search: String,
) -> Result<Vec<HistoryEntry>, CommandError> {
    Ok(engine.history(search).await?)
}
