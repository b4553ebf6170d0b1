//! An SDP body from the far end, read as an offer (we answer it) and as an answer (to our
//! offer). Nothing may panic; what we negotiate must point at a real port.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_media::sdp::{Direction, LocalSdp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut local = LocalSdp::new("127.0.0.1:4000".parse().expect("addr"));
    if let Ok((_, negotiated)) = local.answer(text, Direction::SendRecv) {
        assert!(negotiated.remote.port() != 0 || !negotiated.direction.sends());
    }
    let _ = local.offer(Direction::SendRecv);
    let _ = local.read_answer(text, Direction::SendRecv);
});
