//! Header values that carry addresses and small bodies: From/To/Contact name-addrs (our reader
//! and the grammar's), Request-URI hosts, Replaces, Refer-To, NOTIFY sipfrag and INFO DTMF
//! bodies, and rsipstack's URI parser. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_sip::{dtmf_relay, grammar, name_addr, replaces, sipfrag};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(parsed) = name_addr::parse(&text) {
        assert!(!parsed.uri.is_empty());
    }
    let _ = grammar::name_addr(&text);
    let _ = grammar::sip_uri_host(&text);
    let _ = grammar::scheme(&text);
    let _ = replaces::Replaces::parse(&text);
    let _ = sipfrag::parse(Some("refer"), Some("active"), data);
    let _ = dtmf_relay::parse(Some("application/dtmf-relay"), data);
    let _ = rsipstack::sip::Uri::try_from(text.as_ref());
});
