//! The packets waiting to be decoded, in sequence order, with their extended timestamps. Handles
//! duplicates, packets older than what was already played, a stream that jumps (a new source,
//! a resume after hold) and a bounded size. Payload buffers are recycled, so a running call
//! stops allocating once it has seen its largest burst.

use std::collections::BTreeMap;
use std::time::Instant;

use super::seq::{SeqExtender, SeqNo, TimestampExtender};

/// A jump in sequence numbers larger than this restarts the stream rather than being loss.
const MAX_GAP: u64 = 100;

#[derive(Debug)]
pub struct Packet {
    pub timestamp: u64,
    pub arrival: Instant,
    /// The first packet of a talkspurt (the sender was silent before it).
    pub marker: bool,
    pub payload: Vec<u8>,
}

/// What became of a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Stored(SeqNo, u64),
    /// Same sequence number as one held: dropped.
    Duplicate,
    /// Older than what has been played: dropped.
    Late,
    /// Held, after throwing away everything before: the stream jumped.
    Restarted(SeqNo, u64),
}

pub struct PacketBuffer {
    capacity: usize,
    seq: SeqExtender,
    timestamps: TimestampExtender,
    packets: BTreeMap<SeqNo, Packet>,
    /// Everything below this has been played or given up.
    floor: Option<SeqNo>,
    spare: Vec<Vec<u8>>,
    pub overflow: u64,
}

impl PacketBuffer {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seq: SeqExtender::default(),
            timestamps: TimestampExtender::default(),
            packets: BTreeMap::new(),
            floor: None,
            spare: Vec::new(),
            overflow: 0,
        }
    }

    pub fn push(
        &mut self,
        arrival: Instant,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Pushed {
        let seq = self.seq.extend(seq);
        let timestamp = self.timestamps.extend(timestamp);
        let mut restarted = false;
        if let Some(floor) = self.floor {
            if seq < floor {
                // Far older than anything recent is a new stream too (a peer that restarted).
                if floor.0 - seq.0 <= MAX_GAP {
                    return Pushed::Late;
                }
                restarted = true;
            } else if seq.0 - floor.0 > MAX_GAP + self.capacity as u64 {
                restarted = true;
            }
        }
        if restarted {
            self.clear();
            self.floor = None;
        }
        if self.packets.contains_key(&seq) {
            return Pushed::Duplicate;
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(payload);
        self.packets.insert(
            seq,
            Packet {
                timestamp,
                arrival,
                marker,
                payload: buf,
            },
        );
        while self.packets.len() > self.capacity {
            if let Some((_, p)) = self.packets.pop_first() {
                self.overflow += 1;
                self.spare.push(p.payload);
            }
        }
        if restarted {
            Pushed::Restarted(seq, timestamp)
        } else {
            Pushed::Stored(seq, timestamp)
        }
    }

    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// The oldest packet held.
    pub fn first(&self) -> Option<(SeqNo, &Packet)> {
        self.packets.first_key_value().map(|(s, p)| (*s, p))
    }

    pub fn get(&self, seq: SeqNo) -> Option<&Packet> {
        self.packets.get(&seq)
    }

    /// Marks everything below `seq` as played: dropped now, and late if it turns up.
    pub fn advance_to(&mut self, seq: SeqNo) {
        while let Some(entry) = self.packets.first_entry() {
            if *entry.key() >= seq {
                break;
            }
            self.spare.push(entry.remove().payload);
        }
        self.floor = Some(self.floor.map_or(seq, |f| f.max(seq)));
    }

    /// Gives a payload buffer back once decoded.
    pub fn recycle(&mut self, payload: Vec<u8>) {
        if self.spare.len() < self.capacity {
            self.spare.push(payload);
        }
    }

    /// Takes the packet `seq` out, marking everything up to it as played.
    pub fn take(&mut self, seq: SeqNo) -> Option<Packet> {
        let p = self.packets.remove(&seq);
        self.advance_to(SeqNo(seq.0 + 1));
        p
    }

    fn clear(&mut self) {
        while let Some((_, p)) = self.packets.pop_first() {
            self.spare.push(p.payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_late_packets_jumps_and_capacity() {
        let now = Instant::now();
        let mut b = PacketBuffer::new(4);
        let Pushed::Stored(first, _) = b.push(now, 10, 0, true, b"a") else {
            panic!("stored")
        };
        assert_eq!(b.push(now, 10, 0, false, b"a"), Pushed::Duplicate);
        assert!(b.take(first).is_some());
        assert_eq!(b.push(now, 10, 0, false, b"a"), Pushed::Late);
        assert!(matches!(b.push(now, 9, 0, false, b"z"), Pushed::Late));
        for s in 11..20u16 {
            b.push(now, s, u32::from(s) * 960, false, b"x");
        }
        assert_eq!((b.len(), b.overflow), (4, 5));
        assert!(matches!(
            b.push(now, 30_000, 5, true, b"n"),
            Pushed::Restarted(..)
        ));
        assert_eq!(b.len(), 1);
    }
}
