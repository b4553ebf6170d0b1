//! The progress of a transfer, as the transferee reports it in NOTIFYs of the implicit "refer"
//! subscription (RFC 3515 §2.4.5): a `message/sipfrag` body holding the new call's status line.

/// One NOTIFY's news about the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferStatus {
    /// The status of the transferee's INVITE to the target (100, 180, 200, 486...).
    pub status: u16,
    /// The subscription is over: this is the final word on the transfer.
    pub done: bool,
}

impl TransferStatus {
    /// Nothing more will come: the subscription ended, or the new call has its final answer.
    pub fn is_final(&self) -> bool {
        self.done || self.status >= 200
    }
}

/// Reads a NOTIFY from its Event and Subscription-State header values and its body.
/// `None` when it is not about a transfer or the body carries no status line.
pub fn parse(event: Option<&str>, state: Option<&str>, body: &[u8]) -> Option<TransferStatus> {
    // "refer" or "refer;id=93809824" (RFC 3515 §2.4.6)
    let package = event?.split(';').next()?.trim();
    if !package.eq_ignore_ascii_case("refer") {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut words = line.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    let status: u16 = words.next()?.parse().ok()?;
    if !(100..700).contains(&status) {
        return None;
    }
    let done = state
        .and_then(|s| s.split(';').next())
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("terminated"));
    Some(TransferStatus { status, done })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_progress_and_the_final_notify() {
        let trying = parse(
            Some("refer"),
            Some("active;expires=60"),
            b"SIP/2.0 100 Trying\r\n",
        );
        assert_eq!(
            trying,
            Some(TransferStatus {
                status: 100,
                done: false
            })
        );
        let ok = parse(
            Some("refer;id=7"),
            Some("terminated;reason=noresource"),
            b"SIP/2.0 200 OK\r\n",
        )
        .expect("parses");
        assert!(ok.done && ok.is_final());
        let busy =
            parse(Some("REFER"), Some("terminated"), b"SIP/2.0 486 Busy Here").expect("parses");
        assert_eq!(busy.status, 486);
        assert!(busy.is_final());
        let early = parse(Some("refer"), Some("active"), b"SIP/2.0 180 Ringing").expect("parses");
        assert!(!early.is_final());
    }

    #[test]
    fn other_packages_and_junk_are_not_transfer_news() {
        assert_eq!(parse(Some("dialog"), None, b"SIP/2.0 200 OK"), None);
        assert_eq!(parse(None, None, b"SIP/2.0 200 OK"), None);
        assert_eq!(parse(Some("refer"), None, b""), None);
        assert_eq!(parse(Some("refer"), None, b"HTTP/1.1 200 OK"), None);
        assert_eq!(parse(Some("refer"), None, b"SIP/2.0 99999 Huh"), None);
        assert_eq!(parse(Some("refer"), None, &[0xff, 0xfe]), None);
    }
}
