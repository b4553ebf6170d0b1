//! Global hotkeys, heard whatever window has the focus: answer the ringing call, and decline
//! it or hang up the call the agent is talking on. The keys come from `[ui]` in the settings.

use std::str::FromStr;

use switchboard_desk::snapshot::CallPhase;
use switchboard_desk::Engine;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Answer,
    HangUp,
}

/// Registers the keys (a key that cannot be parsed or taken is reported, the others work).
pub fn install<R: Runtime>(app: &AppHandle<R>, answer: &str, hang_up: &str) -> tauri::Result<()> {
    let mut bound: Vec<(Shortcut, Action)> = Vec::new();
    for (keys, action) in [(answer, Action::Answer), (hang_up, Action::HangUp)] {
        if keys.trim().is_empty() {
            continue;
        }
        match Shortcut::from_str(keys) {
            Ok(shortcut) => bound.push((shortcut, action)),
            Err(e) => tracing::error!("hotkey {keys:?} not understood: {e}"),
        }
    }
    let actions = bound.clone();
    app.plugin(
        tauri_plugin_global_shortcut::Builder::new()
            .with_handler(move |app, shortcut, event| {
                if event.state != ShortcutState::Pressed {
                    return;
                }
                if let Some((_, action)) = actions.iter().find(|(s, _)| s == shortcut) {
                    run(app, *action);
                }
            })
            .build(),
    )?;
    for (shortcut, _) in bound {
        if let Err(e) = app.global_shortcut().register(shortcut) {
            tracing::error!("hotkey {shortcut} not registered (another program holds it?): {e}");
        }
    }
    Ok(())
}

fn run<R: Runtime>(app: &AppHandle<R>, action: Action) {
    let Some(engine) = app.try_state::<Engine>() else {
        return;
    };
    let calls = engine.snapshot().calls;
    let ringing = calls.iter().find(|c| c.phase == CallPhase::Ringing);
    let talking = calls
        .iter()
        .find(|c| c.phase != CallPhase::Ringing && !c.held)
        .or_else(|| calls.iter().find(|c| c.phase != CallPhase::Ringing));
    let result = match (action, ringing, talking) {
        (Action::Answer, Some(call), _) => engine.answer(call.id.clone()),
        (Action::HangUp, Some(call), _) | (Action::HangUp, None, Some(call)) => {
            engine.hangup(call.id.clone())
        }
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!("hotkey {action:?}: {e}");
    }
}
