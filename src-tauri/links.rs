//! Click-to-dial from other applications: `tel:`, `sip:`, `sips:` and `callto:` links start a
//! call in the running app; `switchboard://provision?…` links offer to set the desk up. A second launch (what the desktop does for a link) hands its
//! arguments to the first through the single-instance plugin and exits; the deep-link plugin
//! turns them, or the URL the system opened us with, into URLs, which are dialled here.

use switchboard_desk::dial_link::dial_target;
use switchboard_desk::Engine;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

/// Follows the links given at start and every one that arrives later.
pub fn follow<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            open(&handle, url.as_str());
        }
    });
    match app.deep_link().get_current() {
        Ok(Some(urls)) => urls.iter().for_each(|url| open(app, url.as_str())),
        Ok(None) => {}
        Err(e) => tracing::warn!("launch link not read: {e}"),
    }
}

/// A second launch: the agent is looking for the app, so show it.
pub fn raise<R: Runtime>(app: &AppHandle<R>) {
    crate::alerts::bring_forward(app);
}

/// `switchboard:` links set the desk up (once the agent confirms); the others dial.
fn open<R: Runtime>(app: &AppHandle<R>, link: &str) {
    if link.starts_with("switchboard:") {
        crate::provision_links::offer(app, link);
    } else {
        dial(app, link);
    }
}

fn dial<R: Runtime>(app: &AppHandle<R>, link: &str) {
    let Some(target) = dial_target(link) else {
        tracing::warn!("link refused: not a number or SIP address");
        return;
    };
    let Some(engine) = app.try_state::<Engine>() else {
        return;
    };
    tracing::info!("dialling from a link");
    if let Err(e) = engine.dial(target) {
        tracing::warn!("link not dialled: {e}");
    }
    raise(app);
}
