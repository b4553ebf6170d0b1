//! One keepalive to the trunk: an OPTIONS outside any dialog, addressed to our own
//! address-of-record and sent to the registrar. A trunk that still has our registration routes
//! it back to us and we answer 200; one that restarted and forgot us answers 404 (or 480, 410).
//! A challenge is answered once with our credentials. Any other answer still shows the trunk
//! is there; the Via it returns tells our address as the trunk saw it.

use std::net::SocketAddr;
use std::time::Duration;

use rsipstack::dialog::authenticate::{handle_client_authenticate, Credential};
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::typed::{From as FromHeader, To as ToHeader};
use rsipstack::sip::{Method, Response, SipMessage, Uri};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::{make_tag, Transaction};
use rsipstack::transport::SipAddr;

use crate::trunk_link::ProbeResult;

pub(crate) async fn probe(
    endpoint: &EndpointInnerRef,
    registrar: SocketAddr,
    aor: &Uri,
    credential: &Credential,
    timeout: Duration,
) -> ProbeResult {
    match tokio::time::timeout(timeout, options(endpoint, registrar, aor, credential)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            tracing::debug!("keepalive not sent: {e}");
            ProbeResult::NoAnswer
        }
        Err(_) => ProbeResult::NoAnswer,
    }
}

/// Statuses by which a registrar says it has no binding for the address-of-record.
const NOT_REGISTERED: [u16; 3] = [404, 410, 480];

/// Sends the OPTIONS and waits for a final answer (after one challenge, if any).
async fn options(
    endpoint: &EndpointInnerRef,
    registrar: SocketAddr,
    aor: &Uri,
    credential: &Credential,
) -> Result<ProbeResult, rsipstack::Error> {
    let via = endpoint.get_via(None, None)?;
    let from = FromHeader {
        display_name: None,
        uri: aor.clone(),
        params: vec![],
    }
    .with_tag(make_tag());
    let to = ToHeader {
        display_name: None,
        uri: aor.clone(),
        params: vec![],
    };
    let request = endpoint.make_request(Method::Options, aor.clone(), via, from, to, 1, None);
    let key = TransactionKey::from_request(&request, TransactionRole::Client)?;
    let mut tx = Transaction::new_client(key, request, endpoint.clone(), None);
    tx.destination = Some(SipAddr::from(registrar));
    tx.send().await?;
    let mut challenged = false;
    while let Some(message) = tx.receive().await {
        let SipMessage::Response(response) = message else {
            continue;
        };
        let status = response.status_code.code();
        // Provisional answers wait for the final one. (The stack's own 408 for no answer at
        // all comes after 64*T1, long after the caller's timeout.)
        if status < 200 {
            continue;
        }
        if matches!(status, 401 | 407) && !challenged {
            challenged = true;
            tx = handle_client_authenticate(2, &tx, response, credential).await?;
            tx.send().await?;
            continue;
        }
        if NOT_REGISTERED.contains(&status) {
            return Ok(ProbeResult::Forgotten);
        }
        return Ok(ProbeResult::Answered {
            seen_as: seen_as(&response),
        });
    }
    Err(rsipstack::Error::Error("no answer to the keepalive".into()))
}

/// Our address as the trunk saw it: `received` and `rport` on the Via it returned.
fn seen_as(response: &Response) -> Option<SocketAddr> {
    let via = response.via_header().ok()?.typed().ok()?;
    let ip = via.received()?.ok()?;
    let port = via.rport().flatten()?;
    Some(SocketAddr::new(ip, port))
}
