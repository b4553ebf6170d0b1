//! The UDP socket under rsipstack, with the [`Screen`] in its receive path: rsipstack only
//! ever reads datagrams the screen passed, and what the screen answers or drops never reaches
//! it. rsipstack takes any socket through its `UdpSocket` seam, so this is the whole join.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use rsipstack::platform::net::UdpSocket as StackSocket;
use tokio::net::UdpSocket;

use crate::random::random_u64;
use crate::screen::{Screen, Verdict};

pub(crate) struct GuardedUdp {
    socket: UdpSocket,
    /// Shared with the driver, which updates the trunk's addresses when it locates them anew.
    screen: Arc<RwLock<Screen>>,
}

impl GuardedUdp {
    pub(crate) fn new(socket: UdpSocket, screen: Arc<RwLock<Screen>>) -> Self {
        Self { socket, screen }
    }
}

#[async_trait::async_trait]
impl StackSocket for GuardedUdp {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (len, source) = self.socket.recv_from(buf).await?;
            let verdict = self
                .screen
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .inspect(&buf[..len], source, random_u64());
            match verdict {
                Verdict::Pass { len } => return Ok((len, source)),
                Verdict::Drop { why } => tracing::debug!(%source, "dropped: {why}"),
                Verdict::Answer { status, why, reply } => {
                    // Strangers' requests are a scanner's noise: logged only when asked for,
                    // so a flood cannot fill the log.
                    if status == 403 {
                        tracing::debug!(%source, status, "refused: {why}");
                    } else {
                        tracing::info!(%source, status, "refused: {why}");
                    }
                    if let Err(e) = self.socket.send_to(&reply.bytes, reply.to).await {
                        tracing::debug!(to = %reply.to, "refusal not sent: {e}");
                    }
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.socket.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}
