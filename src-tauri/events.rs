//! Engine facts to the UI: every snapshot as `snapshot-changed`, every event as `engine-event`
//! (and to the desktop: incoming calls raise the window and notify).

use switchboard_desk::{Engine, EngineEvent};
use tauri::{AppHandle, Emitter};

use crate::alerts::Alerts;
use tokio::sync::mpsc::UnboundedReceiver;

pub const SNAPSHOT_CHANGED: &str = "snapshot-changed";
pub const ENGINE_EVENT: &str = "engine-event";

pub fn forward(
    app: AppHandle,
    engine: Engine,
    mut events: UnboundedReceiver<EngineEvent>,
    alerts: Alerts,
) {
    let events_app = app.clone();
    let events_engine = engine.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            alerts.on_event(&events_app, &events_engine, &event);
            // Events carry caller numbers and names: personal data stays out of info logs.
            tracing::debug!(?event, "engine event");
            if let Err(e) = events_app.emit(ENGINE_EVENT, &event) {
                tracing::warn!("cannot emit engine event: {e}");
            }
        }
    });
    tauri::async_runtime::spawn(async move {
        let mut snapshots = engine.snapshots();
        while snapshots.changed().await.is_ok() {
            let snapshot = snapshots.borrow_and_update().clone();
            if let Err(e) = app.emit(SNAPSHOT_CHANGED, &snapshot) {
                tracing::warn!("cannot emit snapshot: {e}");
            }
        }
    });
}
