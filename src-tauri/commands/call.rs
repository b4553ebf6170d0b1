//! The call panel.

use switchboard_desk::{CallId, Engine, Snapshot};
use tauri::State;

use crate::error::CommandError;

#[tauri::command]
pub fn snapshot(engine: State<'_, Engine>) -> Snapshot {
    engine.snapshot()
}

#[tauri::command]
pub fn answer_call(engine: State<'_, Engine>, call: String) -> Result<(), CommandError> {
    Ok(engine.answer(CallId(call))?)
}

#[tauri::command]
pub fn hangup_call(engine: State<'_, Engine>, call: String) -> Result<(), CommandError> {
    Ok(engine.hangup(CallId(call))?)
}

#[tauri::command]
pub fn hold_call(engine: State<'_, Engine>, call: String) -> Result<(), CommandError> {
    Ok(engine.hold(CallId(call))?)
}

#[tauri::command]
pub fn resume_call(engine: State<'_, Engine>, call: String) -> Result<(), CommandError> {
    Ok(engine.resume(CallId(call))?)
}

#[tauri::command]
pub fn dial(engine: State<'_, Engine>, target: String) -> Result<(), CommandError> {
    Ok(engine.dial(target)?)
}

#[tauri::command]
pub fn send_dtmf(
    engine: State<'_, Engine>,
    call: String,
    keys: String,
) -> Result<(), CommandError> {
    Ok(engine.dtmf(CallId(call), keys)?)
}

#[tauri::command]
pub fn mute_call(engine: State<'_, Engine>, call: String, muted: bool) -> Result<(), CommandError> {
    Ok(engine.mute(CallId(call), muted)?)
}

#[tauri::command]
pub fn transfer_call(
    engine: State<'_, Engine>,
    call: String,
    target: String,
) -> Result<(), CommandError> {
    Ok(engine.transfer(CallId(call), target)?)
}

#[tauri::command]
pub fn consult(
    engine: State<'_, Engine>,
    call: String,
    target: String,
) -> Result<(), CommandError> {
    Ok(engine.consult(CallId(call), target)?)
}

#[tauri::command]
pub fn complete_transfer(engine: State<'_, Engine>) -> Result<(), CommandError> {
    Ok(engine.complete_transfer()?)
}

#[tauri::command]
pub fn conference(engine: State<'_, Engine>) -> Result<(), CommandError> {
    Ok(engine.conference()?)
}

#[tauri::command]
pub fn cancel_consult(engine: State<'_, Engine>) -> Result<(), CommandError> {
    Ok(engine.cancel_consult()?)
}
