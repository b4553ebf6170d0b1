//! An incoming call cannot be missed: the window comes forward and asks for attention, and a
//! desktop notification offers Answer (also a click on it) and Decline. The notification goes
//! away when the call is answered or ends, however that happened. Notifications with actions
//! are the XDG ones (Linux); elsewhere the window alone comes forward, until those platforms'
//! notification code is written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use switchboard_desk::{CallId, Engine, EngineEvent};
use tauri::{AppHandle, Manager, Runtime, UserAttentionType};

/// Each ringing call's notification: `None` while it is being shown, then its server id. A call
/// answered or ended meanwhile loses its entry, and the showing thread then closes it.
type Shown = Arc<Mutex<HashMap<CallId, Option<u32>>>>;

#[derive(Clone, Default)]
pub struct Alerts {
    shown: Shown,
    words: Words,
}

/// The notification's words, in the window's language.
#[derive(Clone, Copy)]
struct Words {
    summary: &'static str,
    answer: &'static str,
    decline: &'static str,
}

impl Default for Words {
    fn default() -> Self {
        Self {
            summary: "Incoming call",
            answer: "Answer",
            decline: "Decline",
        }
    }
}

impl Words {
    /// As the UI picks its language: the settings' tag, else the system's locale; Chinese in
    /// Traditional script for Taiwan, Hong Kong and Macau, Simplified otherwise.
    fn for_language(setting: Option<&str>) -> Self {
        let system = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
        let tag = setting
            .map(str::to_owned)
            .or(system)
            .unwrap_or_default()
            .to_ascii_lowercase()
            .replace('_', "-");
        if !tag.starts_with("zh") {
            return Self::default();
        }
        let traditional = ["-hant", "-tw", "-hk", "-mo"]
            .iter()
            .any(|m| tag.contains(m));
        if traditional {
            Self {
                summary: "來電",
                answer: "接聽",
                decline: "拒接",
            }
        } else {
            Self {
                summary: "来电",
                answer: "接听",
                decline: "拒接",
            }
        }
    }
}

impl Alerts {
    pub fn new(language: Option<&str>) -> Self {
        Self {
            shown: Shown::default(),
            words: Words::for_language(language),
        }
    }

    pub fn on_event<R: Runtime>(&self, app: &AppHandle<R>, engine: &Engine, event: &EngineEvent) {
        match event {
            // A call that replaces one the agent has is answered at once: nothing to alert.
            EngineEvent::Incoming {
                call,
                caller,
                display_name,
                replaces: None,
            } => {
                bring_forward(app);
                let who = display_name.clone().unwrap_or_else(|| caller.clone());
                self.notify(app.clone(), engine.clone(), call.clone(), who);
            }
            EngineEvent::Answered { call } | EngineEvent::Ended { call, .. } => self.close(call),
            _ => {}
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn notify<R: Runtime>(&self, _: AppHandle<R>, _: Engine, _: CallId, _: String) {}

    #[cfg(not(target_os = "linux"))]
    fn close(&self, _: &CallId) {}

    /// Shows the notification off the event loop (D-Bus round trips), then waits there for
    /// the agent's action.
    #[cfg(target_os = "linux")]
    fn notify<R: Runtime>(&self, app: AppHandle<R>, engine: Engine, call: CallId, who: String) {
        let (shown, words) = (self.shown.clone(), self.words);
        if let Ok(mut shown) = shown.lock() {
            shown.insert(call.clone(), None);
        }
        std::thread::spawn(move || {
            let handle = notify_rust::Notification::new()
                .appname("Switchboard")
                .summary(words.summary)
                .body(&plain(&who))
                .action("default", words.answer)
                .action("decline", words.decline)
                .hint(notify_rust::Hint::Category("call.incoming".into()))
                .urgency(notify_rust::Urgency::Critical)
                .timeout(notify_rust::Timeout::Never)
                .show();
            let handle = match handle {
                Ok(handle) => handle,
                Err(e) => {
                    tracing::warn!("no desktop notification for the call: {e}");
                    return;
                }
            };
            let still_ringing = match shown.lock() {
                Ok(mut shown) => shown
                    .get_mut(&call)
                    .map(|id| *id = Some(handle.id()))
                    .is_some(),
                Err(_) => true,
            };
            if !still_ringing {
                // Answered or gone while the server was showing it.
                handle.close();
                return;
            }
            // Servers send the action only to the connection that showed the notification:
            // wait on this one. It returns on an action or when the notification closes.
            let mut acted = false;
            handle.wait_for_action(|action| {
                acted = action != "__closed";
                act(&app, &engine, &call, action);
            });
            let still_shown = shown
                .lock()
                .ok()
                .and_then(|mut s| s.remove(&call))
                .flatten();
            // Acted on, it has done its job (not every server closes it by itself).
            if let (true, Some(id)) = (acted, still_shown) {
                let _ = tauri::async_runtime::block_on(close_notification(id));
            }
        });
    }

    /// Closes the call's notification by its id (the handle is with the waiting thread).
    #[cfg(target_os = "linux")]
    fn close(&self, call: &CallId) {
        // Not shown yet (`None`): removing the entry tells the showing thread to close it.
        let Some(id) = self
            .shown
            .lock()
            .ok()
            .and_then(|mut s| s.remove(call))
            .flatten()
        else {
            return;
        };
        tauri::async_runtime::spawn(async move {
            if let Err(e) = close_notification(id).await {
                tracing::debug!("notification {id} not closed: {e}");
            }
        });
    }
}

#[cfg(target_os = "linux")]
fn act<R: Runtime>(app: &AppHandle<R>, engine: &Engine, call: &CallId, action: &str) {
    let result = match action {
        "default" => {
            bring_forward(app);
            engine.answer(call.clone())
        }
        "decline" => engine.hangup(call.clone()),
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!("notification action {action}: {e}");
    }
}

#[cfg(target_os = "linux")]
async fn close_notification(id: u32) -> zbus::Result<()> {
    let bus = zbus::Connection::session().await?;
    bus.call_method(
        Some("org.freedesktop.Notifications"),
        "/org/freedesktop/Notifications",
        Some("org.freedesktop.Notifications"),
        "CloseNotification",
        &(id,),
    )
    .await?;
    Ok(())
}

/// Raises the window over whatever the agent was doing, and asks the desktop to flag it.
pub fn bring_forward<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        let _ = window.request_user_attention(Some(UserAttentionType::Critical));
    }
}

#[cfg(target_os = "linux")]
/// Notification servers read a subset of markup in bodies: a caller's name goes as text.
fn plain(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
