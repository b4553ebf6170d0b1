//! A DTLS record from the far end: to a server waiting for a hello, and to a client that has
//! sent its own. Nothing may panic, and no keys may come of it: the certificate the SDP named
//! is one whose key the input cannot hold.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use switchboard_media::srtp::{DtlsIdentity, DtlsParams, DtlsRole, DtlsSrtp};

/// Ours, and the one the SDP named: made once, since a key pair per input would be the run.
fn identities() -> &'static (Arc<DtlsIdentity>, Arc<DtlsIdentity>) {
    static IDENTITIES: OnceLock<(Arc<DtlsIdentity>, Arc<DtlsIdentity>)> = OnceLock::new();
    IDENTITIES.get_or_init(|| {
        let make = || DtlsIdentity::generate().expect("a certificate");
        (make(), make())
    })
}

fuzz_target!(|data: &[u8]| {
    let (ours, named) = identities();
    let local: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
    let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
    let now = Instant::now();
    for role in [DtlsRole::Server, DtlsRole::Client] {
        let params = DtlsParams {
            role,
            identity: ours.clone(),
            remote_fingerprint: named.fingerprint().clone(),
        };
        let mut dtls = DtlsSrtp::new(&params, local, peer, now).expect("an association");
        while dtls.poll_transmit().is_some() {}
        dtls.on_datagram(now, peer, data);
        while dtls.poll_transmit().is_some() {}
        dtls.handle_timeout(now);
        assert!(dtls.take_keys().is_none(), "keys from records alone");
    }
});
