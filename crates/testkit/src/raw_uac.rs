//! A caller written out by hand, for timings sipp cannot script: sipp receives nothing while
//! it pauses or sends, and cannot tell a CANCEL's 200 from its INVITE's (they share a branch). It sends
//! from a loopback socket of its own, straight to the agent, and reads every answer by its
//! CSeq method. Only for loopback; nothing here is sent to an address a message names.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

pub struct RawUac {
    socket: UdpSocket,
    agent: SocketAddr,
    user: String,
}

/// One answer: status, CSeq method, To tag.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub method: String,
    pub to_tag: Option<String>,
}

impl Answer {
    fn parse(datagram: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(datagram).ok()?;
        let status = text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()?;
        let header = |name: &str| {
            text.lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                })
                .map(|(_, v)| v.trim().to_owned())
        };
        let method = header("CSeq")?.split_whitespace().nth(1)?.to_owned();
        let to_tag = header("To").and_then(|to| {
            to.split(';')
                .find_map(|p| p.trim().strip_prefix("tag=").map(str::to_owned))
        });
        Some(Self {
            status,
            method,
            to_tag,
        })
    }
}

/// One call's identity.
pub struct Dialog {
    pub call_id: String,
    from_tag: String,
    branch: String,
    pub to_tag: Option<String>,
}

impl RawUac {
    /// Binds on `ip` (which the agent must trust: the trunk's address) to call `user` at
    /// `agent`.
    pub fn bind(ip: &str, agent: SocketAddr, user: &str) -> Self {
        let socket = UdpSocket::bind((ip, 0)).expect("bind the caller");
        Self {
            socket,
            agent,
            user: user.to_owned(),
        }
    }

    fn local(&self) -> SocketAddr {
        self.socket.local_addr().expect("local address")
    }

    fn send(&self, text: &str) {
        self.socket
            .send_to(text.as_bytes(), self.agent)
            .expect("send to the agent");
    }

    fn request(&self, method: &str, d: &Dialog, branch: &str, cseq: u32, body: &str) -> String {
        let local = self.local();
        let to_tag = d
            .to_tag
            .as_ref()
            .map(|t| format!(";tag={t}"))
            .unwrap_or_default();
        let content_type = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        };
        format!(
            "{method} sip:{user}@{agent} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             From: \"Customer\" <sip:customer@{local}>;tag={from_tag}\r\n\
             To: <sip:{user}@{agent}>{to_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:customer@{local}>\r\n\
             Max-Forwards: 70\r\n\
             {content_type}Content-Length: {len}\r\n\r\n{body}",
            user = self.user,
            agent = self.agent,
            from_tag = d.from_tag,
            call_id = d.call_id,
            len = body.len(),
        )
    }

    /// Sends an INVITE offering Opus.
    pub fn invite(&self, n: u32) -> Dialog {
        let ip = self.local().ip();
        let sdp = format!(
            "v=0\r\no=customer 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"
        );
        self.invite_offering(n, &sdp)
    }

    /// Sends an INVITE carrying `sdp` as its offer.
    pub fn invite_offering(&self, n: u32, sdp: &str) -> Dialog {
        let ip = self.local().ip();
        let d = Dialog {
            call_id: format!("race-{n}-{}@{}", std::process::id(), ip),
            from_tag: format!("c{n}"),
            branch: format!("z9hG4bK-race-{n}"),
            to_tag: None,
        };
        self.send(&self.request("INVITE", &d, &d.branch, 1, sdp));
        d
    }

    /// CANCEL of the INVITE: the same branch, no To tag (RFC 3261 §9.1).
    pub fn cancel(&self, d: &Dialog) {
        let plain = Dialog {
            to_tag: None,
            call_id: d.call_id.clone(),
            from_tag: d.from_tag.clone(),
            branch: d.branch.clone(),
        };
        self.send(&self.request("CANCEL", &plain, &d.branch, 1, ""));
    }

    /// ACK of the INVITE's final answer: for a failure in its transaction, for a 2xx in a
    /// transaction of its own.
    pub fn ack(&self, d: &Dialog, success: bool) {
        let branch = if success {
            format!("{}-ack", d.branch)
        } else {
            d.branch.clone()
        };
        self.send(&self.request("ACK", d, &branch, 1, ""));
    }

    /// A BYE with CSeq `cseq` (each BYE its own transaction).
    pub fn bye(&self, d: &Dialog, cseq: u32) {
        let branch = format!("{}-bye{cseq}", d.branch);
        self.send(&self.request("BYE", d, &branch, cseq, ""));
    }

    /// The next answer, skipping requests and anything unreadable; `None` after `timeout`.
    pub fn answer(&self, timeout: Duration) -> Option<Answer> {
        self.next(timeout, |text| Answer::parse(text.as_bytes()))
    }

    /// The next answer to a request of `method` (others passed over); panics after `timeout`.
    pub fn answer_to(&self, method: &str, timeout: Duration) -> Answer {
        loop {
            let answer = self
                .answer(timeout)
                .unwrap_or_else(|| panic!("no answer to our {method} in {timeout:?}"));
            if answer.method == method {
                return answer;
            }
        }
    }

    /// The next request whose method is `method`, as text; `None` after `timeout`.
    pub fn request_of(&self, method: &str, timeout: Duration) -> Option<String> {
        let start = format!("{method} ");
        self.next(timeout, |text| {
            text.starts_with(&start).then(|| text.to_owned())
        })
    }

    /// Answers a request we received with `status`, echoing its Via, From, To, Call-ID, CSeq.
    pub fn respond(&self, request: &str, status: u16, reason: &str) {
        let echoed: String = request
            .lines()
            .filter(|l| {
                let name = l.split(':').next().unwrap_or_default().trim();
                ["Via", "From", "To", "Call-ID", "CSeq"]
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(name))
            })
            .map(|l| format!("{}\r\n", l.trim_end()))
            .collect();
        self.send(&format!(
            "SIP/2.0 {status} {reason}\r\n{echoed}Content-Length: 0\r\n\r\n"
        ));
    }

    fn next<T>(&self, timeout: Duration, mut pick: impl FnMut(&str) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            if let Ok((n, _)) = self.socket.recv_from(&mut buf) {
                if let Some(found) = std::str::from_utf8(&buf[..n]).ok().and_then(&mut pick) {
                    return Some(found);
                }
            }
        }
    }
}
