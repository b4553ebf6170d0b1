//! Where a call's RTCP goes and comes from: its own socket (the RTP port plus one), or the RTP
//! socket when both sides multiplex (RFC 5761). The thin I/O around the sans-IO [`Rtcp`].
//!
//! The RTCP socket is read by a small thread of its own that stamps each report as it lands:
//! a round trip is only as good as the arrival times, and the media thread looks at this
//! socket only once a tick.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often the reader thread looks at its stop flag.
const READER_POLL: Duration = Duration::from_millis(250);

use crate::rtcp::{Feedback, Reception, Rtcp, Sent};
use crate::sdp::Negotiated;

pub struct RtcpPath {
    socket: UdpSocket,
    arrivals: Option<Receiver<(Instant, Vec<u8>)>>,
    stop_reader: Arc<AtomicBool>,
    target: SocketAddr,
    mux: bool,
    pub state: Rtcp,
    /// Malformed reports received (counted, never fatal).
    pub malformed: u64,
}

impl RtcpPath {
    pub fn new(socket: UdpSocket, negotiated: &Negotiated, ssrc: u32, seed: u64) -> Self {
        let stop_reader = Arc::new(AtomicBool::new(false));
        let arrivals = match spawn_reader(&socket, stop_reader.clone()) {
            Ok(rx) => Some(rx),
            Err(e) => {
                tracing::warn!("rtcp reader: {e}; reports from the peer are not read");
                None
            }
        };
        let cname = format!("{ssrc:08x}@switchboard");
        Self {
            socket,
            arrivals,
            stop_reader,
            target: negotiated.rtcp,
            mux: negotiated.rtcp_mux,
            state: Rtcp::new(ssrc, &cname, Instant::now(), SystemTime::now(), seed),
            malformed: 0,
        }
    }

    pub fn renegotiated(&mut self, negotiated: &Negotiated) {
        self.target = negotiated.rtcp;
        self.mux = negotiated.rtcp_mux;
    }

    /// Multiplexed RTCP follows the RTP latch: it goes where the peer's RTP comes from.
    pub fn rtp_moved(&mut self, to: SocketAddr) {
        if self.mux {
            self.target = to;
        }
    }

    /// Reads the reports that arrived on the RTCP socket since the last look.
    pub fn drain(&mut self) -> Option<Feedback> {
        let mut latest = None;
        let arrived: Vec<(Instant, Vec<u8>)> = match &self.arrivals {
            Some(rx) => rx.try_iter().collect(),
            None => return None,
        };
        for (at, datagram) in arrived {
            if let Some(f) = self.on_datagram(at, &datagram) {
                latest = Some(f);
            }
        }
        latest
    }

    /// A report, from either socket.
    pub fn on_datagram(&mut self, now: Instant, datagram: &[u8]) -> Option<Feedback> {
        match self.state.on_packet(now, datagram) {
            Ok(f) => Some(f),
            Err(e) => {
                self.malformed += 1;
                tracing::trace!("rtcp: {e}");
                None
            }
        }
    }

    /// Sends a report if one is due.
    pub fn send_due(
        &mut self,
        now: Instant,
        rtp_socket: &UdpSocket,
        sent: Option<Sent>,
        reception: Option<Reception>,
    ) {
        let Some(report) = self.state.poll(now, sent, reception) else {
            return;
        };
        let socket = if self.mux { rtp_socket } else { &self.socket };
        if let Err(e) = socket.send_to(&report, self.target) {
            tracing::trace!("rtcp send: {e}");
        }
    }
}

impl Drop for RtcpPath {
    fn drop(&mut self) {
        self.stop_reader.store(true, Ordering::Relaxed);
    }
}

fn spawn_reader(
    socket: &UdpSocket,
    stop: Arc<AtomicBool>,
) -> std::io::Result<Receiver<(Instant, Vec<u8>)>> {
    let socket = socket.try_clone()?;
    socket.set_read_timeout(Some(READER_POLL))?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("rtcp".into())
        .spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                match socket.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        let datagram = buf.get(..n).unwrap_or_default().to_vec();
                        if tx.send((Instant::now(), datagram)).is_err() {
                            return;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock
                                | ErrorKind::TimedOut
                                | ErrorKind::ConnectionRefused
                        ) => {}
                    Err(e) => {
                        tracing::debug!("rtcp receive: {e}");
                        return;
                    }
                }
            }
        })?;
    Ok(rx)
}

/// Whether a datagram on the RTP port is RTCP (RFC 5761 §4: packet types 200 to 204 sit where
/// RTP would carry payload types 72 to 76, which no one assigns).
pub fn is_rtcp(datagram: &[u8]) -> bool {
    matches!(datagram, [first, pt, ..] if first >> 6 == 2 && (200..=204).contains(pt))
}
