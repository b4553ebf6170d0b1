//! Screen pop: the caller's customer record, looked up by number while the call rings. The
//! lookup runs off the engine's loop and its answer arrives when it arrives: ringing never
//! waits for it, and the panel says whether it is still loading, found nothing, or failed.

use serde::Serialize;

use crate::crm::{CrmAnswer, CrmConnector};
use crate::store::worker::StoreWorker;
use crate::store::{CustomerRecord, Store};
use switchboard_sip::CallId;
use tokio::sync::mpsc;

/// Where a call's customer record stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum CustomerLookup {
    /// The other party is not a phone number (a SIP name, an expert): nothing to look up.
    NotANumber,
    Loading,
    Found {
        record: CustomerRecord,
        /// Wall-clock ms when the record arrived, to measure offer-to-pop.
        #[cfg_attr(feature = "ipc", ts(type = "number"))]
        at_ms: u64,
    },
    /// No record for this number.
    Unknown,
    Failed {
        reason: String,
    },
}

/// A finished lookup, for the engine's loop.
pub type LookupResult = (CallId, CustomerLookup);

/// Where callers are looked up: the CRM when one is configured, else the embedded store (which
/// gives the last calls with the number either way).
#[derive(Clone)]
pub struct ScreenPop {
    pub store: StoreWorker,
    pub crm: Option<CrmConnector>,
    pub done: mpsc::UnboundedSender<LookupResult>,
}

impl ScreenPop {
    /// Starts the lookup of `phone` for `call`; the answer goes to `done` when it comes.
    pub fn look_up(&self, call: CallId, phone: String) {
        let done = self.done.clone();
        match self.crm.clone() {
            None => self.store.run(move |store| {
                let _ = done.send((call, from_store(store, &phone)));
            }),
            Some(crm) => {
                let store = self.store.clone();
                tokio::spawn(async move {
                    let found = from_crm(&crm, &store, phone).await;
                    let _ = done.send((call, found));
                });
            }
        }
    }
}

fn from_store(store: &mut Store, phone: &str) -> CustomerLookup {
    match store.customer(phone) {
        Ok(Some(record)) => found(record),
        Ok(None) => CustomerLookup::Unknown,
        Err(e) => CustomerLookup::Failed {
            reason: e.to_string(),
        },
    }
}

async fn from_crm(crm: &CrmConnector, store: &StoreWorker, phone: String) -> CustomerLookup {
    match crm.look_up(&phone).await {
        Ok(CrmAnswer::Found(mut record)) => {
            record.last_interactions = store
                .ask(move |s| s.interactions(&phone))
                .await
                .unwrap_or_default();
            found(record)
        }
        Ok(CrmAnswer::Unknown) => CustomerLookup::Unknown,
        Err(e) => CustomerLookup::Failed {
            reason: e.to_string(),
        },
    }
}

fn found(record: CustomerRecord) -> CustomerLookup {
    CustomerLookup::Found {
        record,
        at_ms: crate::engine::now_ms(),
    }
}
