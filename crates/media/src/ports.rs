//! A call's two media sockets: RTP on an even port and RTCP on the next one (RFC 3550 §11),
//! as peers that do not multiplex RTCP expect. Bound before the SDP is written, so that what
//! the SDP promises is already listening.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

/// Attempts at finding a free even/odd pair before giving up.
const ATTEMPTS: usize = 64;

#[derive(Debug)]
pub struct MediaSockets {
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
}

impl MediaSockets {
    /// Binds a free pair on `ip`: the system picks a port; if it is odd, or its neighbour is
    /// taken, another is tried.
    pub fn bind(ip: IpAddr) -> io::Result<Self> {
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            let rtp = UdpSocket::bind(SocketAddr::new(ip, 0))?;
            let port = rtp.local_addr()?.port();
            if port % 2 == 1 || port == u16::MAX {
                continue;
            }
            match UdpSocket::bind(SocketAddr::new(ip, port + 1)) {
                Ok(rtcp) => return Ok(Self { rtp, rtcp }),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::AddrInUse, "no free RTP/RTCP port pair")
        }))
    }

    /// Where our RTP is received (the address the SDP names).
    pub fn rtp_addr(&self) -> io::Result<SocketAddr> {
        self.rtp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_even_and_adjacent_and_distinct() {
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let a = MediaSockets::bind(ip).expect("pair");
        let b = MediaSockets::bind(ip).expect("pair");
        for s in [&a, &b] {
            let rtp = s.rtp.local_addr().expect("addr").port();
            let rtcp = s.rtcp.local_addr().expect("addr").port();
            assert_eq!((rtp % 2, rtcp), (0, rtp + 1));
        }
        assert_ne!(a.rtp_addr().expect("a"), b.rtp_addr().expect("b"));
    }
}
