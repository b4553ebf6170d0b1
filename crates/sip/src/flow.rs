//! The flow to one trunk target (RFC 5626's word): over UDP our listening socket, over TCP and
//! TLS the connection we open, which the trunk also uses to send us calls. Our Contact names
//! the flow's local end, so a new connection (the old one dropped) means registering again.

use std::net::SocketAddr;
use std::path::Path;

use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transport::connection::KEEPALIVE_REQUEST;
use rsipstack::transport::stream::StreamConnection;
use rsipstack::transport::{SipAddr, SipConnection, TlsConfig};

use crate::error::SipError;
use crate::locate::Target;

/// A stream flow that closed. Every connection to one trunk target shares the trunk's end;
/// ours tells the current flow from an older one closing late.
#[derive(Debug, Clone)]
pub(crate) struct ClosedFlow {
    pub remote: SocketAddr,
    pub local: SipAddr,
}

/// Debian's (and most Linux systems') bundle of trusted roots, in PEM.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The certificate authorities a TLS trunk must chain to: the configured file, or the system's.
pub(crate) fn tls_roots(configured: Option<&Path>) -> Result<Vec<u8>, SipError> {
    let path = configured.unwrap_or(Path::new(SYSTEM_ROOTS));
    std::fs::read(path).map_err(|e| SipError::TlsRoots {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Opens (or reuses) the flow to `target` and returns our address on it. For TLS the
/// certificate is verified against `roots` and must carry the target's name.
pub(crate) async fn open(
    endpoint: &EndpointInnerRef,
    target: &Target,
    roots: Option<&[u8]>,
) -> Result<SipAddr, rsipstack::Error> {
    let transport = &endpoint.transport_layer;
    if let Some(roots) = roots {
        // Only the registration loop opens connections to the trunk, one target at a time,
        // so setting the name here cannot race another dial.
        transport.set_tls_config(TlsConfig {
            ca_certs: Some(roots.to_vec()),
            sni_hostname: Some(target.name.clone()),
            ..Default::default()
        });
    }
    let (connection, _) = transport.lookup(&target.sip_addr(), None).await?;
    Ok(connection.get_addr().clone())
}

/// Sends a CRLF ping (RFC 5626 §4.4.1) on a stream flow: it keeps NAT and firewall state and
/// both ends' idle timers alive. Nothing on UDP, where the OPTIONS keepalive does that.
pub(crate) async fn ping(endpoint: &EndpointInnerRef, target: &Target) {
    if !target.transport.is_stream() {
        return;
    }
    let Ok((connection, _)) = endpoint
        .transport_layer
        .lookup(&target.sip_addr(), None)
        .await
    else {
        return;
    };
    let sent = match &connection {
        SipConnection::Tcp(c) => c.send_raw(KEEPALIVE_REQUEST).await,
        SipConnection::Tls(c) => c.send_raw(KEEPALIVE_REQUEST).await,
        _ => Ok(()),
    };
    if let Err(e) = sent {
        tracing::debug!(to = %target.addr, "CRLF ping not sent: {e}");
    }
}
