//! Microsoft 365: sign-in by browser or device code (each runs on its own and shows in the
//! snapshot; closing it stops it), sign-out, the expert search, and escalation to an expert
//! whose presence is read again just before dialling.

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use switchboard_desk::directory::Expert;
use switchboard_desk::phone::NumberPlan;
use switchboard_desk::teams_link::TeamsLink;
use switchboard_desk::{CallId, DeskError, Engine};
use tauri::State;

use crate::error::CommandError;

/// How long the browser gets to come back from the sign-in page.
const BROWSER_PATIENCE: Duration = Duration::from_secs(300);

/// The link, when `[teams]` is configured, and the sign-in under way.
pub struct Teams {
    pub link: Option<TeamsLink>,
    pub plan: NumberPlan,
    signing_in: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

impl Teams {
    pub fn new(link: Option<TeamsLink>, plan: NumberPlan) -> Self {
        Self {
            link,
            plan,
            signing_in: Mutex::new(None),
        }
    }

    fn link(&self) -> Result<&TeamsLink, CommandError> {
        self.link.as_ref().ok_or_else(|| {
            DeskError::Command("Microsoft 365 is not set up on this desk ([teams])".into()).into()
        })
    }

    /// Runs `sign_in` in the background in place of any sign-in already under way.
    fn start(&self, sign_in: impl std::future::Future<Output = ()> + Send + 'static) {
        let task = tauri::async_runtime::spawn(sign_in);
        if let Ok(mut slot) = self.signing_in.lock() {
            if let Some(old) = slot.replace(task) {
                old.abort();
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SignInMethod {
    Browser,
    DeviceCode,
}

#[tauri::command]
pub fn teams_sign_in(teams: State<'_, Teams>, method: SignInMethod) -> Result<(), CommandError> {
    let session = teams.link()?.session().clone();
    teams.start(async move {
        let result = match method {
            SignInMethod::Browser => {
                let open = |url: &str| {
                    tauri_plugin_opener::open_url(url, None::<&str>).map_err(|e| e.to_string())
                };
                session
                    .sign_in_with_browser(open, BROWSER_PATIENCE, None)
                    .await
            }
            SignInMethod::DeviceCode => session.sign_in_with_device_code().await,
        };
        if let Err(e) = result {
            tracing::warn!("Microsoft 365 sign-in: {e}");
        }
    });
    Ok(())
}

/// Stops a sign-in under way (the agent closed it).
#[tauri::command]
pub fn teams_cancel_sign_in(teams: State<'_, Teams>) -> Result<(), CommandError> {
    let link = teams.link()?;
    if let Some(task) = teams.signing_in.lock().ok().and_then(|mut s| s.take()) {
        task.abort();
    }
    link.session().abandon_sign_in();
    Ok(())
}

#[tauri::command]
pub async fn teams_sign_out(teams: State<'_, Teams>) -> Result<(), CommandError> {
    teams
        .link()?
        .session()
        .sign_out()
        .await
        .map_err(|e| DeskError::Command(e.to_string()).into())
}

#[tauri::command]
pub async fn search_experts(
    teams: State<'_, Teams>,
    text: String,
) -> Result<Vec<Expert>, CommandError> {
    teams
        .link()?
        .search(&text, &teams.plan)
        .await
        .map_err(|e| DeskError::Command(e.to_string()).into())
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Escalation {
    /// Hold the caller and call the expert (then transfer, conference, or back).
    Consult,
    /// Send the caller on to the expert.
    Transfer,
}

/// Escalates `call` to a directory expert. Their presence is read again first: an expert no
/// longer free, or whose presence cannot be read, is not dialled unless `anyway`.
#[tauri::command]
pub async fn escalate(
    engine: State<'_, Engine>,
    teams: State<'_, Teams>,
    call: String,
    expert: String,
    how: Escalation,
    anyway: bool,
) -> Result<(), CommandError> {
    // The directory shown, or someone the agent found by searching Teams.
    let chosen = engine
        .snapshot()
        .directory
        .into_iter()
        .find(|e| e.id == expert)
        .or_else(|| teams.link.as_ref().and_then(|l| l.expert(&expert)))
        .ok_or_else(|| DeskError::Command(format!("no expert {expert:?} in the directory")))?;
    let target = chosen
        .target
        .clone()
        .ok_or_else(|| DeskError::Command(format!("{} has no number to dial", chosen.name)))?;
    // Only an expert the link knows has Teams presence to read again (practice mode's and
    // typed numbers have none).
    if let Some(link) = teams.link.as_ref().filter(|l| l.expert(&expert).is_some()) {
        check_presence(link, &chosen, anyway).await?;
    }
    let call = CallId(call);
    match how {
        Escalation::Consult => engine.consult(call, target)?,
        Escalation::Transfer => engine.transfer(call, target)?,
    }
    Ok(())
}

/// The expert's presence read again; what it says is logged with the expert's name.
async fn check_presence(
    link: &TeamsLink,
    chosen: &Expert,
    anyway: bool,
) -> Result<(), CommandError> {
    match link.recheck(&chosen.id).await {
        Ok(Some(fresh)) => {
            let p = &fresh.presence;
            tracing::info!(expert = %chosen.name, availability = %p.availability, activity = %p.activity, "presence read again before dialling");
            if !p.is_free() && !anyway {
                return Err(CommandError {
                    code: "expertNotFree",
                    message: format!("{} is now {}", fresh.name, p.availability),
                });
            }
        }
        // Not a Teams user: nothing to read.
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(expert = %chosen.name, "presence could not be read before dialling: {e}");
            if !anyway {
                return Err(CommandError {
                    code: "presenceUnknown",
                    message: format!("{}'s presence cannot be read now: {e}", chosen.name),
                });
            }
        }
    }
    Ok(())
}
