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
    let versions = crate::startup::versions();
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
    pending.offer().map(|offer| LinkPrompt::Offer { offer })
}

/// The agent confirmed link `id` (the one on screen): its settings are written into theirs
/// (the old file kept as `.bak`) and the password typed, if any, goes to the keychain. They
/// apply at the next start. A failure leaves the link waiting, to try again.
#[tauri::command]
pub async fn accept_provision(
    pending: State<'_, PendingLink>,
    id: u64,
    password: Option<String>,
) -> Result<(), CommandError> {
    let link = pending.get(id).ok_or_else(|| {
        DeskError::Command(
            "this setup link is no longer the one waiting: nothing was changed".into(),
        )
    })?;
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
    .map_err(DeskError::Command)?;
    pending.drop_link(Some(id));
    Ok(())
}

/// The agent turned link `id` down (or closed a refusal, with none): it is dropped.
#[tauri::command]
pub fn decline_provision(pending: State<'_, PendingLink>, id: Option<u64>) {
    if pending.drop_link(id) {
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
    engine: State<'_, switchboard_desk::Engine>,
    updates: State<'_, Updates>,
) -> Result<UpdateView, CommandError> {
    let on_a_call = !engine.snapshot().calls.is_empty();
    Ok(updates.install(&app, on_a_call).await)
}
