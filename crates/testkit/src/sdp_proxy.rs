//! A stateless SIP proxy on loopback that puts a [`MediaRelay`] into a call between two phones
//! that know nothing of it (baresip): it forwards the caller's INVITE to the callee and the
//! responses back (adding and removing its own Via), and rewrites each SDP's audio port to the
//! relay's side facing the other phone, telling the relay where each phone really listens.
//! In-dialog requests (ACK, BYE) go between the phones directly, as their Contacts say.
//! For benchmarks and tests only: one call at a time, UDP, IPv4 loopback.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::relay::MediaRelay;

pub struct SdpProxy {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SdpProxy {
    /// Relays to the phone listening for SIP at `callee`.
    pub fn start(callee: SocketAddr, relay: Arc<MediaRelay>) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("proxy socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut branch = 0u32;
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, _)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                branch += 1;
                if let Some((out, to)) = relay_message(&text, addr, callee, &relay, branch) {
                    let _ = socket.send_to(out.as_bytes(), to);
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SdpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The message to forward and where, or `None` for what cannot be relayed.
fn relay_message(
    text: &str,
    me: SocketAddr,
    callee: SocketAddr,
    relay: &MediaRelay,
    branch: u32,
) -> Option<(String, SocketAddr)> {
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines: Vec<String> = head.split("\r\n").map(str::to_owned).collect();
    let is_response = lines.first()?.starts_with("SIP/2.0 ");
    let (body, to) = if is_response {
        // Drop our Via; the next one says where the caller wants the response.
        let ours = lines.iter().position(|l| is_via(l))?;
        lines.remove(ours);
        let next = lines.iter().find(|l| is_via(l))?;
        let to = sent_by(next)?;
        let body = rewrite_audio_port(body, relay.a_side.port(), |real| relay.set_b(real));
        (body, to)
    } else {
        let first = lines.first_mut()?;
        // The callee answers for its own address, not ours.
        *first = first.replace(&me.to_string(), &callee.to_string());
        let at = lines.iter().position(|l| is_via(l)).unwrap_or(1);
        lines.insert(
            at,
            format!("Via: SIP/2.0/UDP {me};branch=z9hG4bK-sdpproxy-{branch}"),
        );
        let body = rewrite_audio_port(body, relay.b_side.port(), |real| relay.set_a(real));
        (body, callee)
    };
    for l in lines.iter_mut() {
        if l.to_ascii_lowercase().starts_with("content-length:") || l.starts_with("l:") {
            *l = format!("Content-Length: {}", body.len());
        }
    }
    Some((format!("{}\r\n\r\n{}", lines.join("\r\n"), body), to))
}

fn is_via(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.starts_with("via:") || lower.starts_with("v:")
}

/// The host:port of a Via (`Via: SIP/2.0/UDP 127.0.0.1:5060;branch=...`).
fn sent_by(via: &str) -> Option<SocketAddr> {
    let value = via.split_once(':')?.1.trim();
    let hop = value.split_whitespace().nth(1)?;
    hop.split(';').next()?.parse().ok()
}

/// Points `m=audio` at `relay_port`, reporting the phone's real port (on loopback) first.
fn rewrite_audio_port(body: &str, relay_port: u16, real: impl FnOnce(SocketAddr)) -> String {
    let mut out = String::with_capacity(body.len());
    let mut real = Some(real);
    for line in body.split_inclusive("\r\n") {
        if let Some(rest) = line.strip_prefix("m=audio ") {
            let (port, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if let (Ok(port), Some(report)) = (port.parse::<u16>(), real.take()) {
                report(SocketAddr::from(([127, 0, 0, 1], port)));
            }
            out.push_str(&format!("m=audio {relay_port} {tail}"));
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_and_sdp_ports_are_read_and_rewritten() {
        let via = "Via: SIP/2.0/UDP 127.0.0.1:40000;rport;branch=z9hG4bKx";
        assert_eq!(sent_by(via), Some("127.0.0.1:40000".parse().expect("addr")));
        let mut seen = None;
        let body = "v=0\r\nm=audio 10000 RTP/AVP 96\r\na=x\r\n";
        let out = rewrite_audio_port(body, 20000, |a| seen = Some(a));
        assert_eq!(out, "v=0\r\nm=audio 20000 RTP/AVP 96\r\na=x\r\n");
        assert_eq!(seen, Some("127.0.0.1:10000".parse().expect("addr")));
    }
}
