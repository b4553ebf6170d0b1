//! A three-way conference mixed locally: two calls' media threads each hand the other what
//! their far end said, and each adds what it receives to what it sends. So the customer hears
//! the agent and the expert, the expert hears the agent and the customer; the agent hears both
//! from the two playbacks. One frame a tick each way, over bounded channels that drop rather
//! than grow when one side stalls.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use crate::format::Frame;

/// Frames one side may run ahead of the other before frames are dropped (60 ms).
const SLACK: usize = 3;

/// One leg's end of the bridge.
pub struct BridgeEnd {
    to_peer: SyncSender<Frame>,
    from_peer: Receiver<Frame>,
}

/// Two connected ends, one for each call.
pub fn pair() -> (BridgeEnd, BridgeEnd) {
    let (a_tx, a_rx) = sync_channel(SLACK);
    let (b_tx, b_rx) = sync_channel(SLACK);
    (
        BridgeEnd {
            to_peer: a_tx,
            from_peer: b_rx,
        },
        BridgeEnd {
            to_peer: b_tx,
            from_peer: a_rx,
        },
    )
}

impl BridgeEnd {
    /// Hands the other leg what our far end said this tick. False once the other leg is gone.
    pub fn forward(&self, heard: &Frame) -> bool {
        match self.to_peer.try_send(*heard) {
            Ok(()) | Err(TrySendError::Full(_)) => true,
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Adds the other leg's far end into what we are about to send. False once it is gone.
    pub fn mix_into(&self, outgoing: &mut Frame) -> bool {
        match self.from_peer.try_recv() {
            Ok(peer) => {
                for (out, p) in outgoing.iter_mut().zip(peer.iter()) {
                    *out = out.saturating_add(*p);
                }
                true
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => true,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{FRAME_SAMPLES, SILENCE};

    #[test]
    fn each_side_gets_the_others_audio_added_without_wrapping() {
        let (a, b) = pair();
        let mut loud = SILENCE;
        loud.fill(30_000);
        assert!(a.forward(&loud));
        let mut outgoing = SILENCE;
        outgoing.fill(10_000);
        assert!(b.mix_into(&mut outgoing));
        assert!(
            outgoing.iter().all(|&s| s == i16::MAX),
            "saturates, never wraps"
        );
        // Nothing queued: what we send is left alone.
        let mut quiet = [7i16; FRAME_SAMPLES];
        assert!(b.mix_into(&mut quiet));
        assert_eq!(quiet, [7i16; FRAME_SAMPLES]);
    }

    #[test]
    fn a_stalled_side_drops_frames_and_a_gone_side_is_noticed() {
        let (a, b) = pair();
        for _ in 0..10 {
            assert!(a.forward(&SILENCE), "a full queue drops, it does not fail");
        }
        let mut f = SILENCE;
        let mut queued = 0;
        while b.from_peer.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, SLACK);
        drop(b);
        assert!(!a.forward(&SILENCE));
        assert!(!a.mix_into(&mut f));
    }
}
