//! What the engine writes down about its calls: the screen pop when a call is offered, the
//! history row as the call goes, the agent's notes and disposition, and the call kept on
//! screen through wrap-up.

use std::path::PathBuf;

use switchboard_media::MediaStats;
use switchboard_sip::{CallId, EndReason};

use crate::call::Call;
use crate::crm::{CrmConfig, CrmConnector};
use crate::engine::{now_ms, EngineTask};
use crate::error::DeskError;
use crate::phone::NumberPlan;
use crate::screen_pop::CustomerLookup;
use crate::snapshot::CallView;
use crate::store::worker::{logged, StoreWorker};
use crate::store::{CallRecord, Store};

/// Notes longer than this are refused (the UI stops typing there): a page of text is a note,
/// a megabyte pasted by mistake is not.
pub const NOTES_MAX_CHARS: usize = 20_000;

/// Where the records live and how numbers are read.
#[derive(Debug, Clone, Default)]
pub struct RecordsConfig {
    /// The SQLite file; `None` keeps them in memory for the engine's life (tests, demos).
    pub store: Option<PathBuf>,
    pub number_plan: NumberPlan,
    /// Look callers up in this CRM instead of the embedded store.
    pub crm: Option<CrmConfig>,
}

impl RecordsConfig {
    /// Opens the store on its thread, seeded with the practice customers when asked. A store
    /// that cannot be opened is reported and replaced by one in memory: calls go on.
    pub fn open(&self, practice: bool) -> Result<StoreWorker, DeskError> {
        let opened = match &self.store {
            Some(path) => Store::open(path),
            None => Store::in_memory(),
        };
        let mut store = match opened {
            Ok(store) => store,
            Err(e) => {
                tracing::error!("{e}: history and customers are kept in memory this run");
                Store::in_memory()?
            }
        };
        if practice {
            logged("practice customers", store.seed_practice());
        }
        Ok(StoreWorker::start(store))
    }

    /// The CRM connector, if one is configured; one that cannot be built is reported, and the
    /// calls ring without records rather than not at all.
    pub fn connector(&self) -> Option<CrmConnector> {
        let config = self.crm.clone()?;
        CrmConnector::new(config)
            .inspect_err(|e| tracing::error!("customer records: {e}"))
            .ok()
    }
}

impl EngineTask {
    /// A new call (offered or dialled): its number, its customer lookup, its history row.
    pub(crate) fn record_offered(&mut self, call: &mut Call) {
        let view = &mut call.view;
        view.phone = self.config.records.number_plan.e164(&view.remote);
        if let Some(phone) = &view.phone {
            view.customer = CustomerLookup::Loading;
            self.screen_pop.look_up(view.id.clone(), phone.clone());
        }
        let record = CallRecord {
            id: view.id.0.clone(),
            direction: wire_name(&view.direction),
            remote: view.remote.clone(),
            display_name: view.display_name.clone(),
            phone: view.phone.clone(),
            started_ms: view.offered_at_ms,
        };
        self.store
            .run(move |s| logged("call history", s.call_offered(&record)));
    }

    pub(crate) fn record_answered(&self, call: &CallId) {
        let (id, at) = (call.0.clone(), now_ms());
        self.store
            .run(move |s| logged("call history", s.call_answered(&id, at)));
    }

    /// The call's last row; a connected customer call stays on screen for its wrap-up.
    /// `stats` is `None` for a call that never had media.
    pub(crate) fn record_ended(
        &mut self,
        ended: CallView,
        reason: &EndReason,
        stats: Option<MediaStats>,
    ) {
        let (id, at) = (ended.id.0.clone(), now_ms());
        let name = wire_name(reason);
        let mos = stats.map(|s| s.mos);
        self.store
            .run(move |s| logged("call history", s.call_ended(&id, at, &name, mos)));
        let consult_leg = ended.consult_for.is_some();
        let replaced = *reason == EndReason::Replaced;
        if ended.connected_at_ms.is_some() && !consult_leg && !replaced {
            let mut view = ended;
            view.quality = stats.or(view.quality);
            self.after_call = Some(view);
        }
    }

    /// A lookup finished: onto the call, or the wrap-up's call, whichever it is for (a call
    /// gone meanwhile needs it no more).
    pub(crate) fn on_lookup(&mut self, call: CallId, found: CustomerLookup) {
        if let Ok(view) = self.view_mut(&call) {
            view.customer = found;
        }
    }

    /// The notes typed so far on a call, or on the call in wrap-up.
    pub(crate) fn set_notes(&mut self, call: &CallId, notes: String) -> Result<(), DeskError> {
        if notes.chars().count() > NOTES_MAX_CHARS {
            return Err(DeskError::Command(format!(
                "notes are limited to {NOTES_MAX_CHARS} characters"
            )));
        }
        let view = self.view_mut(call)?;
        view.notes.clone_from(&notes);
        let id = call.0.clone();
        self.store
            .run(move |s| logged("notes", s.save_notes(&id, &notes)));
        Ok(())
    }

    /// The call's disposition, one of the policy's codes; given for the call in wrap-up, it
    /// lets the agent (or the timer) leave wrap-up.
    pub(crate) fn set_disposition(&mut self, call: &CallId, code: String) -> Result<(), DeskError> {
        let codes = &self.config.availability.dispositions;
        if !codes.contains(&code) {
            return Err(DeskError::Command(format!(
                "disposition {code:?} is not one the policy defines"
            )));
        }
        let view = self.view_mut(call)?;
        view.disposition = Some(code.clone());
        if self.after_call.as_ref().is_some_and(|v| &v.id == call) {
            self.availability.disposed();
        }
        let id = call.0.clone();
        self.store
            .run(move |s| logged("disposition", s.save_disposition(&id, &code)));
        Ok(())
    }

    /// Starts wrap-up's bookkeeping once the last call has ended: a disposition given during
    /// the call counts.
    pub(crate) fn after_call_disposed(&mut self) {
        if self
            .after_call
            .as_ref()
            .is_some_and(|v| v.disposition.is_some())
        {
            self.availability.disposed();
        }
    }

    fn view_mut(&mut self, call: &CallId) -> Result<&mut CallView, DeskError> {
        let live = self.calls.get_mut(call).map(|c| &mut c.view);
        let after = self.after_call.as_mut().filter(|v| &v.id == call);
        live.or(after).ok_or(DeskError::NoSuchCall)
    }
}

/// A value's wire name as the UI's types spell it ("inbound", "remoteHangup"): a plain enum
/// is its string, a tagged one its `kind`.
fn wire_name(value: &impl serde::Serialize) -> String {
    let json = serde_json::to_value(value).ok();
    let name = match &json {
        Some(serde_json::Value::String(s)) => Some(s.as_str()),
        Some(v) => v.get("kind").and_then(|k| k.as_str()),
        None => None,
    };
    name.unwrap_or("unknown").to_owned()
}
