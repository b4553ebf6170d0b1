//! A call's quality as one number: the ITU-T G.107 E-model's transmission rating R, from the
//! impairments this end can measure (delay and packet loss), turned into an estimated MOS.
//!
//! What is assumed, because this end cannot measure it: echo is controlled (the talker-echo
//! terms Idte and Idle are taken as 0), the default loudness and noise values of G.107 (so that
//! R starts at 93.2), and random rather than bursty loss (BurstR = 1). The codec values are
//! those of G.113 Appendix I for G.711 with packet-loss concealment (Ie = 0, Bpl = 25.1); G.113
//! gives none for Opus on this scale, so Opus is rated as G.711 with concealment, which
//! underrates it rather than flatters it.

use std::time::Duration;

/// R with G.107's default values and no impairment.
const R_DEFAULT: f64 = 93.2;
/// Equipment impairment and packet-loss robustness (G.113 Appendix I, G.711 with PLC).
const IE: f64 = 0.0;
const BPL: f64 = 25.1;

/// The inputs, as measured over the call (or the last interval, live).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Impairments {
    /// Mouth-to-ear delay: network one way, jitter buffer, framing, codec look-ahead, devices.
    pub one_way_delay: Duration,
    /// Packets lost or too late to play, 0..=1.
    pub loss: f64,
}

/// G.107's delay impairment Idd for a mouth-to-ear delay `ta` (none below 100 ms).
fn delay_impairment(ta_ms: f64) -> f64 {
    if ta_ms <= 100.0 {
        return 0.0;
    }
    let x = (ta_ms / 100.0).log2();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// The effective equipment impairment under `loss_percent` random loss.
fn loss_impairment(loss_percent: f64) -> f64 {
    IE + (95.0 - IE) * loss_percent / (loss_percent + BPL)
}

/// The transmission rating R.
pub fn rating(m: Impairments) -> f64 {
    let ta = m.one_way_delay.as_secs_f64() * 1000.0;
    let loss = (m.loss * 100.0).clamp(0.0, 100.0);
    R_DEFAULT - delay_impairment(ta) - loss_impairment(loss)
}

/// G.107 Annex B: R to an estimated mean opinion score, 1 to 4.5.
pub fn mos(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, loss: f64) -> f64 {
        rating(Impairments {
            one_way_delay: Duration::from_millis(ms),
            loss,
        })
    }

    #[test]
    fn a_clean_short_call_rates_as_g107_says_and_mos_is_bounded() {
        assert!((at(50, 0.0) - 93.2).abs() < 1e-9);
        assert!((mos(93.2) - 4.41).abs() < 0.01, "{}", mos(93.2));
        assert_eq!(mos(-5.0), 1.0);
        assert_eq!(mos(120.0), 4.5);
    }

    #[test]
    fn delay_and_loss_lower_the_rating_as_the_published_curves_do() {
        // G.107's curve: about 3.5 of R lost at 200 ms one way, about 15 at 300 ms.
        let at_200 = 93.2 - at(200, 0.0);
        let at_300 = 93.2 - at(300, 0.0);
        assert!((3.0..5.0).contains(&at_200), "{at_200}");
        assert!((12.0..18.0).contains(&at_300), "{at_300}");
        // 1 % and 5 % loss with concealment: Ie,eff of about 3.6 and 15.8.
        assert!((93.2 - at(0, 0.01) - 3.64).abs() < 0.05);
        assert!((93.2 - at(0, 0.05) - 15.8).abs() < 0.1);
        assert!(mos(at(0, 0.05)) < mos(at(0, 0.01)));
    }
}
