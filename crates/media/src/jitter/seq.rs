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
}
