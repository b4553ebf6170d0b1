//! Loopback ports for peers.

use std::net::{TcpListener, UdpSocket};

/// A port free for both UDP and TCP on 127.0.0.1 right now, and whose neighbour (port + 1) is
/// free too: baresip also opens TLS on its SIP port + 1.
pub fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else { continue };
        let port = addr.port();
        if port >= 65534 {
            continue;
        }
        let others = (
            TcpListener::bind(("127.0.0.1", port)),
            UdpSocket::bind(("127.0.0.1", port + 1)),
            TcpListener::bind(("127.0.0.1", port + 1)),
        );
        if let (Ok(_), Ok(_), Ok(_)) = others {
            return port;
        }
    }
    panic!("no free loopback port pair")
}

/// A port free for UDP and TCP on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    free_port_pair()
}
