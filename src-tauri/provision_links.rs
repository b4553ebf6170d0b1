//! `switchboard://provision?…` links: the desk set up from a link, once the agent confirms. The
//! link is read and checked here, held under a fresh id, and shown in the window
//! (`provision-link`); only the window's Set up for that id applies it (see
//! `commands::settings`). A web page can open such a link, so nothing happens without the
//! agent, the window shows exactly what would change, and a link that arrives while another is
//! on screen replaces it there too: Set up never applies a link the agent did not see.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use switchboard_desk::policy;
use switchboard_desk::provision_link::{LinkPrompt, LinkProvision, ProvisionOffer};
use tauri::{AppHandle, Emitter, Manager, Runtime};

pub const PROVISION_LINK: &str = "provision-link";

/// The link waiting for the agent's answer, with its id.
#[derive(Default)]
pub struct PendingLink {
    held: Mutex<Option<(u64, LinkProvision)>>,
    next: AtomicU64,
}

impl PendingLink {
    fn held(&self) -> std::sync::MutexGuard<'_, Option<(u64, LinkProvision)>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The waiting link, as an offer.
    pub fn offer(&self) -> Option<ProvisionOffer> {
        let held = self.held();
        let (id, link) = held.as_ref()?;
        Some(link.offer(*id, &policy::of_this_desk()))
    }

    /// The waiting link if it is `id` (still the one on screen).
    pub fn get(&self, id: u64) -> Option<LinkProvision> {
        match &*self.held() {
            Some((held, link)) if *held == id => Some(link.clone()),
            _ => None,
        }
    }

    /// Drops the waiting link if it is `id` (any, with `None`).
    pub fn drop_link(&self, id: Option<u64>) -> bool {
        let mut held = self.held();
        let matches = match (&*held, id) {
            (Some(_), None) => true,
            (Some((held, _)), Some(id)) => *held == id,
            (None, _) => false,
        };
        if matches {
            *held = None;
        }
        matches
    }

    fn hold(&self, link: LinkProvision) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        *self.held() = Some((id, link));
        id
    }
}

/// Reads a provisioning link and puts it before the agent. A refused link leaves nothing
/// waiting: what was on screen is replaced by the refusal.
pub fn offer<R: Runtime>(app: &AppHandle<R>, link: &str) {
    let Some(pending) = app.try_state::<PendingLink>() else {
        return;
    };
    let prompt = match LinkProvision::parse(link) {
        Ok(parsed) => {
            let offer = parsed.offer(0, &policy::of_this_desk());
            let id = pending.hold(parsed);
            tracing::info!(id, "a provisioning link waits for the agent");
            LinkPrompt::Offer {
                offer: ProvisionOffer { id, ..offer },
            }
        }
        Err(reason) => {
            pending.drop_link(None);
            tracing::warn!("provisioning link refused: {reason}");
            LinkPrompt::Refused { reason }
        }
    };
    if let Err(e) = app.emit(PROVISION_LINK, &prompt) {
        tracing::warn!("cannot show the provisioning link: {e}");
    }
    crate::links::raise(app);
}
