//! The settings panel: updates, the diagnostics bundle for IT, and a provisioning link's
//! answer.

use switchboard_desk::diagnostics::{self, BundleReport};
use switchboard_desk::policy::{self, Effective};
use switchboard_desk::provision_link::LinkPrompt;
use switchboard_desk::{DeskError, Settings};
use tauri::State;

use crate::error::CommandError;
use crate::provision_links::PendingLink;
use crate::updates::Updates;
use switchboard_desk::updates::UpdateView;

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

/// The provisioning link waiting for an answer, if any (for a window that opens after it came).
#[tauri::command]
pub fn provision_prompt(pending: State<'_, PendingLink>) -> Option<LinkPrompt> {
    let link = pending.peek()?;
    Some(LinkPrompt::Offer {
        offer: link.offer(&policy::of_this_desk()),
    })
}

/// The agent confirmed the link: its settings are written into theirs (the old file kept as
/// `.bak`) and the password typed, if any, goes to the keychain. They apply at the next start.
#[tauri::command]
pub async fn accept_provision(
    pending: State<'_, PendingLink>,
    password: Option<String>,
) -> Result<(), CommandError> {
    let link = pending
        .take()
        .ok_or_else(|| DeskError::Command("no provisioning link is waiting".into()))?;
    let path = Settings::user_path()
        .ok_or_else(|| DeskError::Command("no config directory for the settings".into()))?;
    tauri::async_runtime::spawn_blocking(move || {
        let user = policy::read(&path)?;
        let plan = link.provision(
            user.as_deref(),
            &policy::read(&policy::machine_path()),
            password.as_deref(),
        )?;
        plan.apply(&path).map(|_| ())
    })
    .await
    .map_err(|e| DeskError::Command(e.to_string()))?
    .map_err(|e| DeskError::Command(e).into())
}

/// The agent turned the link down: it is dropped.
#[tauri::command]
pub fn decline_provision(pending: State<'_, PendingLink>) {
    if pending.take().is_some() {
        tracing::info!("provisioning link declined");
    }
}

#[tauri::command]
pub fn update_status(updates: State<'_, Updates>) -> UpdateView {
    updates.view()
}

#[tauri::command]
pub async fn check_update<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    updates: State<'_, Updates>,
) -> Result<UpdateView, CommandError> {
    Ok(updates.check(&app).await)
}

/// Installs the update the last check found, once its signature is verified.
#[tauri::command]
pub async fn install_update<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    updates: State<'_, Updates>,
) -> Result<UpdateView, CommandError> {
    Ok(updates.install(&app).await)
}
