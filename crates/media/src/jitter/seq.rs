//! RTP sequence numbers extended past their 16-bit wrap (RFC 3550 A.1), so that ordering and
//! gaps are plain integer arithmetic.

/// An extended sequence number: the 16-bit RTP value plus a count of wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeqNo(pub u64);

/// Turns successive 16-bit sequence numbers into [`SeqNo`]s, relative to the highest seen.
#[derive(Debug, Default, Clone)]
pub struct SeqExtender {
    highest: Option<u64>,
}

impl SeqExtender {
    pub fn extend(&mut self, seq: u16) -> SeqNo {
        let Some(highest) = self.highest else {
            // Start a wrap cycle up so that early reordered packets cannot go below zero.
            let first = (1u64 << 16) + u64::from(seq);
            self.highest = Some(first);
            return SeqNo(first);
        };
        let cycle = highest & !0xffff;
        let candidates = [cycle.wrapping_sub(1 << 16), cycle, cycle + (1 << 16)];
        let extended = candidates
            .iter()
            .map(|c| c + u64::from(seq))
            .min_by_key(|v| v.abs_diff(highest))
            .unwrap_or(cycle + u64::from(seq));
        if extended > highest {
            self.highest = Some(extended);
        }
        SeqNo(extended)
    }
}

/// The same for 32-bit RTP timestamps, so that media time is a plain `u64` too.
#[derive(Debug, Default, Clone)]
pub struct TimestampExtender {
    highest: Option<u64>,
}

impl TimestampExtender {
    pub fn extend(&mut self, timestamp: u32) -> u64 {
        let Some(highest) = self.highest else {
            let first = (1u64 << 32) + u64::from(timestamp);
            self.highest = Some(first);
            return first;
        };
        // The candidate nearest the highest seen, as a signed 32-bit difference says.
        let delta = i64::from(timestamp.wrapping_sub(highest as u32) as i32);
        let extended = highest.saturating_add_signed(delta);
        if extended > highest {
            self.highest = Some(extended);
        }
        extended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_forward_and_tolerates_reordering_across_the_wrap() {
        let mut x = SeqExtender::default();
        let a = x.extend(65534);
        let b = x.extend(65535);
        let c = x.extend(1);
        let late = x.extend(0);
        assert_eq!(b.0, a.0 + 1);
        assert_eq!(c.0, a.0 + 3);
        assert_eq!(late.0, a.0 + 2);
        let back = x.extend(65533);
        assert_eq!(back.0 + 1, a.0);
    }

    #[test]
    fn timestamps_wrap_forward_and_back() {
        let mut x = TimestampExtender::default();
        let a = x.extend(u32::MAX - 959);
        let b = x.extend(0);
        let c = x.extend(960);
        assert_eq!((b - a, c - a), (960, 1920));
        assert_eq!(x.extend(u32::MAX - 1919), a - 960);
    }
}
