//! The agent's desk: state menu, notes, disposition, history, the customer's record.

use switchboard_desk::screen_pop::CustomerLookup;
use switchboard_desk::store::customers::is_web_link;
use switchboard_desk::store::HistoryEntry;
use switchboard_desk::{CallId, DeskError, Engine, StateChoice};
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

/// Opens the customer record of a call (live or in wrap-up) in the system browser. The UI
/// names the call, never a URL: only the link the connector gave, and only http(s), leaves.
#[tauri::command]
pub fn open_record(engine: State<'_, Engine>, call: String) -> Result<(), CommandError> {
    let snapshot = engine.snapshot();
    let view = snapshot
        .calls
        .iter()
        .chain(snapshot.after_call.iter())
        .find(|c| c.id.0 == call)
        .ok_or(DeskError::NoSuchCall)?;
    let url = match &view.customer {
        CustomerLookup::Found { record, .. } => record.record_url.clone(),
        _ => None,
    }
    .filter(|u| is_web_link(u))
    .ok_or_else(|| DeskError::Command("this customer has no record link".into()))?;
    tauri_plugin_opener::open_url(url, None::<&str>)
        .map_err(|e| DeskError::Command(format!("the browser did not open: {e}")).into())
}
