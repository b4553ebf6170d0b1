//! One keepalive to the trunk: an OPTIONS outside any dialog, addressed to our own user at
//! the target we registered to. A trunk that still has our registration routes
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

use crate::locate::Target;
use crate::trunk_link::ProbeResult;

pub(crate) async fn probe(
    endpoint: &EndpointInnerRef,
    target: &Target,
    aor: &Uri,
    credential: &Credential,
    timeout: Duration,
) -> ProbeResult {
    match tokio::time::timeout(timeout, options(endpoint, target, aor, credential)).await {
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
    target: &Target,
    aor: &Uri,
    credential: &Credential,
) -> Result<ProbeResult, rsipstack::Error> {
    // Over TCP or TLS the Via names the connection's end, so the answer comes back on it.
    let destination = target.sip_addr();
    let (flow, _) = endpoint.transport_layer.lookup(&destination, None).await?;
    let via = endpoint.get_via(Some(flow.get_addr().clone()), None)?;
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
    // Our user at the target's own address: every target knows itself by that name, while
    // the AOR's domain may be one only some of them take as theirs.
    let user = aor.user().unwrap_or_default();
    let request_uri = Uri::try_from(target.uri().replacen("sip:", &format!("sip:{user}@"), 1))?;
    let request = endpoint.make_request(Method::Options, request_uri, via, from, to, 1, None);
    let key = TransactionKey::from_request(&request, TransactionRole::Client)?;
    let mut tx = Transaction::new_client(key, request, endpoint.clone(), None);
    tx.destination = Some(destination);
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
