//! One keepalive to the trunk: an OPTIONS outside any dialog. Any answer (even 401 or 404)
//! shows the trunk is there; the Via it returns tells our address as the trunk saw it.

use std::net::SocketAddr;
use std::time::Duration;

use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::typed::{From as FromHeader, To as ToHeader};
use rsipstack::sip::{Method, SipMessage, Uri};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::{make_tag, Transaction};

use crate::trunk_link::ProbeResult;

pub(crate) async fn probe(
    endpoint: &EndpointInnerRef,
    target: &Uri,
    from: &Uri,
    timeout: Duration,
) -> ProbeResult {
    match tokio::time::timeout(timeout, options(endpoint, target, from)).await {
        Ok(Ok(seen_as)) => ProbeResult::Answered { seen_as },
        Ok(Err(e)) => {
            tracing::debug!("keepalive not sent: {e}");
            ProbeResult::NoAnswer
        }
        Err(_) => ProbeResult::NoAnswer,
    }
}

/// Sends the OPTIONS and waits for a final answer; `Ok` with our address as seen, if given.
async fn options(
    endpoint: &EndpointInnerRef,
    target: &Uri,
    from: &Uri,
) -> Result<Option<SocketAddr>, rsipstack::Error> {
    let via = endpoint.get_via(None, None)?;
    let from = FromHeader {
        display_name: None,
        uri: from.clone(),
        params: vec![],
    }
    .with_tag(make_tag());
    let to = ToHeader {
        display_name: None,
        uri: target.clone(),
        params: vec![],
    };
    let request = endpoint.make_request(Method::Options, target.clone(), via, from, to, 1, None);
    let key = TransactionKey::from_request(&request, TransactionRole::Client)?;
    let mut tx = Transaction::new_client(key, request, endpoint.clone(), None);
    tx.send().await?;
    while let Some(message) = tx.receive().await {
        let SipMessage::Response(response) = message else {
            continue;
        };
        // Provisional answers wait for the final one. (The stack's own 408 for no answer at
        // all comes after 64*T1, long after the caller's timeout.)
        if response.status_code.code() < 200 {
            continue;
        }
        let seen_as = response
            .via_header()
            .ok()
            .and_then(|v| v.typed().ok())
            .and_then(|via| {
                let ip = via.received()?.ok()?;
                let port = via.rport().flatten()?;
                Some(SocketAddr::new(ip, port))
            });
        return Ok(seen_as);
    }
    Err(rsipstack::Error::Error("no answer to the keepalive".into()))
}
