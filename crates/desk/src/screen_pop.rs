//! Screen pop: the caller's customer record, looked up by number while the call rings. The
//! lookup runs off the engine's loop and its answer arrives when it arrives: ringing never
//! waits for it, and the panel says whether it is still loading, found nothing, or failed.

use serde::Serialize;

use crate::store::worker::StoreWorker;
use crate::store::CustomerRecord;
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

/// Starts the lookup of `phone` for `call` in the embedded store; the answer goes to `done`.
pub fn look_up(
    store: &StoreWorker,
    call: CallId,
    phone: String,
    done: mpsc::UnboundedSender<LookupResult>,
) {
    store.run(move |store| {
        let found = match store.customer(&phone) {
            Ok(Some(record)) => CustomerLookup::Found {
                record,
                at_ms: crate::engine::now_ms(),
            },
            Ok(None) => CustomerLookup::Unknown,
            Err(e) => CustomerLookup::Failed {
                reason: e.to_string(),
            },
        };
        let _ = done.send((call, found));
    });
}
