//! The settings panel: the diagnostics bundle for IT.

use switchboard_desk::diagnostics::{self, BundleReport};
use switchboard_desk::policy::Effective;
use switchboard_desk::DeskError;
use tauri::State;

use crate::error::CommandError;

/// The settings the app started with, which a bundle reports.
pub struct InEffect(pub Effective);

/// Writes a diagnostics bundle beside the logs and says where. Zipping the logs takes a
/// moment: it runs off the IPC thread.
#[tauri::command]
pub async fn create_diagnostics(
    settings: State<'_, InEffect>,
) -> Result<BundleReport, CommandError> {
    let effective = settings.0.clone();
    let mut versions = vec![(
        "switchboard".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    )];
    if let Ok(webview) = tauri::webview_version() {
        versions.push(("webview".to_owned(), webview));
    }
    tauri::async_runtime::spawn_blocking(move || {
        diagnostics::of_this_desk(&effective, versions, None)
    })
    .await
    .map_err(|e| DeskError::Command(e.to_string()))?
    .map_err(|e| DeskError::Command(e.to_string()).into())
}
