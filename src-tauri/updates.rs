//! The app updating itself through the Tauri updater, when `[updates]` allows it and names a
//! source: the manifest fetched over HTTPS (from the configured CA or the system's), the
//! package verified against the configured minisign key before anything is installed, and the
//! new version run from the next start (never a restart under an agent's call). The state is
//! shown in the Settings panel and pushed as `update-status`.

use std::sync::Mutex;

use switchboard_desk::settings::UpdateSettings;
use switchboard_desk::updates::{UpdateSource, UpdateView};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_updater::{Update, UpdaterExt};

pub const UPDATE_STATUS: &str = "update-status";

pub struct Updates {
    source: Option<UpdateSource>,
    view: Mutex<UpdateView>,
    /// The update found by the last check, kept for Install.
    found: tokio::sync::Mutex<Option<Update>>,
}

impl Updates {
    pub fn new(settings: &UpdateSettings) -> Self {
        let view = UpdateView::of(settings);
        if let UpdateView::Failed { message } = &view {
            tracing::error!("settings: {message}");
        }
        Self {
            source: settings.source().ok().flatten(),
            view: Mutex::new(view),
            found: tokio::sync::Mutex::new(None),
        }
    }

    pub fn view(&self) -> UpdateView {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn show<R: Runtime>(&self, app: &AppHandle<R>, view: UpdateView) -> UpdateView {
        *self.view.lock().unwrap_or_else(|p| p.into_inner()) = view.clone();
        if let Err(e) = app.emit(UPDATE_STATUS, &view) {
            tracing::warn!("cannot show the update status: {e}");
        }
        view
    }

    /// Asks the source whether there is a newer version.
    pub async fn check<R: Runtime>(&self, app: &AppHandle<R>) -> UpdateView {
        let Some(source) = &self.source else {
            return self.view();
        };
        // Waits for an install under way; what an earlier check found is stale now, whatever
        // this one says.
        let mut found = self.found.lock().await;
        *found = None;
        self.show(app, UpdateView::Checking);
        let view = match updater(app, source) {
            Ok(updater) => match updater.check().await {
                Ok(Some(update)) => {
                    tracing::info!(version = %update.version, "an update is available");
                    let view = UpdateView::Available {
                        version: update.version.clone(),
                        notes: update.body.clone(),
                    };
                    *found = Some(update);
                    view
                }
                Ok(None) => UpdateView::UpToDate,
                Err(e) => failed("the update check failed", &e),
            },
            Err(e) => failed("the updater cannot start", &e),
        };
        self.show(app, view)
    }

    /// Downloads the update found, verifies its signature and installs it; never while the
    /// agent is on a call (on Windows the installer ends the app).
    pub async fn install<R: Runtime>(&self, app: &AppHandle<R>, on_a_call: bool) -> UpdateView {
        if on_a_call {
            return self.show(
                app,
                UpdateView::Failed {
                    message: "not during a call: install the update once the call is over".into(),
                },
            );
        }
        // Held until the install is done: a second click waits, then finds nothing to do.
        let mut found = self.found.lock().await;
        let Some(update) = found.take() else {
            return self.view();
        };
        let version = update.version.clone();
        self.show(
            app,
            UpdateView::Installing {
                version: version.clone(),
            },
        );
        let view = match update.download_and_install(|_, _| {}, || {}).await {
            Ok(()) => {
                tracing::info!(%version, "update installed; it runs from the next start");
                UpdateView::Installed { version }
            }
            Err(e) => failed("the update was not installed", &e),
        };
        self.show(app, view)
    }
}

fn failed(what: &str, e: &dyn std::fmt::Display) -> UpdateView {
    tracing::warn!("{what}: {e}");
    UpdateView::Failed {
        message: format!("{what}: {e}"),
    }
}

fn updater<R: Runtime>(
    app: &AppHandle<R>,
    source: &UpdateSource,
) -> Result<tauri_plugin_updater::Updater, String> {
    let mut builder = app
        .updater_builder()
        .endpoints(vec![source.endpoint.clone()])
        .map_err(|e| e.to_string())?
        .pubkey(source.pubkey.clone());
    if let Some(path) = &source.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        builder = builder.configure_client(move |client| client.tls_certs_only(certs.clone()));
    }
    builder.build().map_err(|e| e.to_string())
}

/// At start, a configured desk checks once in the background.
pub fn check_at_start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(updates) = app.try_state::<Updates>() {
            if updates.source.is_some() {
                updates.check(&app).await;
            }
        }
    });
}
