//! RFC 4733 telephone-events: turns queued digits into event payloads, one per 20 ms tick. Sans-IO:
//! the media driver asks at every tick whether an event packet replaces the audio packet.

use std::collections::VecDeque;

/// How long each tone lasts, in 20 ms ticks (100 ms: what PSTN gateways and IVRs expect).
const TONE_TICKS: u16 = 5;
/// The end-of-event packet is sent three times (RFC 4733 §2.5.1.4).
const END_REPEATS: u8 = 3;
/// Silence between tones, in ticks, during which audio flows again (ITU-T Q.24 asks ≥ 40 ms).
const GAP_TICKS: u8 = 3;
/// Tone level, in -dBm0 (RFC 4733 §2.3.4).
const VOLUME: u8 = 10;

/// A digit that is not a DTMF key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a DTMF key (0-9, *, #, A-D)")]
pub struct NotADigit(pub char);

/// The RFC 4733 event code of a key.
pub fn event_code(key: char) -> Result<u8, NotADigit> {
    Ok(match key.to_ascii_uppercase() {
        d @ '0'..='9' => d as u8 - b'0',
        '*' => 10,
        '#' => 11,
        l @ 'A'..='D' => l as u8 - b'A' + 12,
        other => return Err(NotADigit(other)),
    })
}

/// Checks a whole key sequence before any of it is sent.
pub fn parse_keys(keys: &str) -> Result<Vec<u8>, NotADigit> {
    keys.chars().map(event_code).collect()
}

/// One telephone-event packet to send in place of this tick's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    pub payload: [u8; 4],
    /// Set on the first packet of an event.
    pub marker: bool,
    /// The RTP timestamp of the event's start, the same in all its packets.
    pub timestamp: u32,
}

#[derive(Debug)]
enum Phase {
    Tone { ticks: u16, start: Option<u32> },
    Ending { sent: u8, start: u32 },
    Gap { ticks: u8 },
}

/// Digits waiting and the tone being played.
#[derive(Debug)]
pub struct DtmfSender {
    queue: VecDeque<u8>,
    current: Option<(u8, Phase)>,
    /// Event clock units per tick (160 at 8 kHz).
    units_per_tick: u16,
}

impl DtmfSender {
    /// `clock_rate` is the telephone-event rate from the SDP (8000 almost everywhere).
    pub fn new(clock_rate: u32) -> Self {
        Self {
            queue: VecDeque::new(),
            current: None,
            units_per_tick: u16::try_from(clock_rate / 50).unwrap_or(160),
        }
    }

    pub fn push(&mut self, events: &[u8]) {
        self.queue.extend(events);
    }

    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.current.is_none()
    }

    /// Advances one tick. `clock` is the stream's RTP timestamp now; an event keeps the
    /// timestamp it started at. `None` means: send audio this tick.
    pub fn tick(&mut self, clock: u32) -> Option<EventPacket> {
        if self.current.is_none() {
            let event = self.queue.pop_front()?;
            self.current = Some((
                event,
                Phase::Tone {
                    ticks: 0,
                    start: None,
                },
            ));
        }
        let units = self.units_per_tick;
        let (event, phase) = self.current.as_mut()?;
        let event = *event;
        let (packet, next) = match *phase {
            Phase::Tone { ticks, start } => {
                let start = start.unwrap_or(clock);
                let ticks = ticks + 1;
                let packet = packet(units, event, false, ticks, start, ticks == 1);
                let next = if ticks >= TONE_TICKS {
                    Phase::Ending { sent: 0, start }
                } else {
                    Phase::Tone {
                        ticks,
                        start: Some(start),
                    }
                };
                (Some(packet), Some(next))
            }
            Phase::Ending { sent, start } => {
                let packet = packet(units, event, true, TONE_TICKS, start, false);
                let next = if sent + 1 >= END_REPEATS {
                    Phase::Gap { ticks: 0 }
                } else {
                    Phase::Ending {
                        sent: sent + 1,
                        start,
                    }
                };
                (Some(packet), Some(next))
            }
            Phase::Gap { ticks } if ticks + 1 >= GAP_TICKS => (None, None),
            Phase::Gap { ticks } => (None, Some(Phase::Gap { ticks: ticks + 1 })),
        };
        match next {
            Some(next) => *phase = next,
            None => self.current = None,
        }
        packet
    }
}

fn packet(units: u16, event: u8, end: bool, ticks: u16, start: u32, marker: bool) -> EventPacket {
    let [hi, lo] = ticks.saturating_mul(units).to_be_bytes();
    EventPacket {
        payload: [event, (u8::from(end) << 7) | VOLUME, hi, lo],
        marker,
        timestamp: start,
    }
}

/// Reads a received telephone-event payload: the key and whether this packet ends it.
pub fn read_event(payload: &[u8]) -> Option<(char, bool)> {
    let [event, flags, ..] = *payload else {
        return None;
    };
    if payload.len() < 4 {
        return None;
    }
    let key = match event {
        0..=9 => (b'0' + event) as char,
        10 => '*',
        11 => '#',
        12..=15 => (b'A' + event - 12) as char,
        _ => return None,
    };
    Some((key, flags & 0x80 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_rfc_4733_codes_and_others_are_refused() {
        assert_eq!(parse_keys("0129*#aD"), Ok(vec![0, 1, 2, 9, 10, 11, 12, 15]));
        assert_eq!(parse_keys("12x"), Err(NotADigit('X')));
        for code in 0..16u8 {
            let (key, _) = read_event(&[code, 0, 0, 160]).expect("a key");
            assert_eq!(event_code(key), Ok(code));
        }
        assert_eq!(read_event(&[16, 0, 0, 0]), None);
        assert_eq!(read_event(&[1, 0]), None);
    }

    /// One digit: five tone packets with growing duration, all stamped with the start time,
    /// the first marked; three end packets; then a gap of audio; then the next digit.
    #[test]
    fn a_digit_is_a_marked_tone_then_three_end_packets_then_a_gap() {
        let mut dtmf = DtmfSender::new(8000);
        dtmf.push(&[5, 11]);
        let mut clock = 1_000u32;
        let mut packets = Vec::new();
        for _ in 0..(5 + 3 + 3) {
            packets.push(dtmf.tick(clock));
            clock += 960;
        }
        let tones: Vec<EventPacket> = packets[..8].iter().map(|p| p.expect("event")).collect();
        assert!(tones
            .iter()
            .all(|p| p.timestamp == 1_000 && p.payload[0] == 5));
        assert!(tones[0].marker && tones[1..].iter().all(|p| !p.marker));
        let durations: Vec<u16> = tones
            .iter()
            .map(|p| u16::from_be_bytes([p.payload[2], p.payload[3]]))
            .collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800, 800]);
        let ends: Vec<bool> = tones.iter().map(|p| p.payload[1] & 0x80 != 0).collect();
        assert_eq!(ends, [false, false, false, false, false, true, true, true]);
        assert_eq!(&packets[8..], &[None, None, None]);
        let next = dtmf.tick(clock).expect("second digit");
        assert_eq!(
            (next.payload[0], next.marker, next.timestamp),
            (11, true, clock)
        );
        assert!(!dtmf.is_idle());
    }
}
