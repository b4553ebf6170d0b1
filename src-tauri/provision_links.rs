//! `switchboard://provision?…` links: the desk set up from a link, once the agent confirms. The
//! link is read and checked here, held, and shown in the window (`provision-link`); only the
//! window's Set up applies it (see `commands::settings`). A web page can open such a link, so
//! nothing happens without the agent, and the window shows exactly what would change.

use std::sync::Mutex;

use switchboard_desk::policy;
use switchboard_desk::provision_link::{LinkPrompt, LinkProvision};
use tauri::{AppHandle, Emitter, Manager, Runtime};

pub const PROVISION_LINK: &str = "provision-link";

/// The link waiting for the agent's answer (a newer one replaces it).
#[derive(Default)]
pub struct PendingLink(pub Mutex<Option<LinkProvision>>);

impl PendingLink {
    pub fn take(&self) -> Option<LinkProvision> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub fn peek(&self) -> Option<LinkProvision> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn hold(&self, link: LinkProvision) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(link);
    }
}

/// Reads a provisioning link and puts it before the agent.
pub fn offer<R: Runtime>(app: &AppHandle<R>, link: &str) {
    let prompt = match LinkProvision::parse(link) {
        Ok(parsed) => {
            let offer = parsed.offer(&policy::of_this_desk());
            if let Some(pending) = app.try_state::<PendingLink>() {
                pending.hold(parsed);
            }
            tracing::info!("a provisioning link waits for the agent");
            LinkPrompt::Offer { offer }
        }
        Err(reason) => {
            tracing::warn!("provisioning link refused: {reason}");
            LinkPrompt::Refused { reason }
        }
    };
    if let Err(e) = app.emit(PROVISION_LINK, &prompt) {
        tracing::warn!("cannot show the provisioning link: {e}");
    }
    crate::links::raise(app);
}
