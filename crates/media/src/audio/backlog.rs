//! How much captured audio may wait in the microphone's ring before some is dropped. A frame is
//! read each tick; what is left rises and falls by up to a device period as the device's
//! periods and our ticks interleave, and jumps when a tick runs late. Cutting that back every
//! tick makes many small cuts: each is a click, and summed over a call they make a tone sound
//! sharp. Only a backlog that stays is delay: the least left over a window of ticks is what
//! will not drain by itself, and when it is above the bound its excess goes in one cut.

/// Ticks (20 ms each) over which the standing backlog is judged: half a second.
pub const WINDOW: u32 = 25;

/// The standing backlog of one capture, judged tick by tick (time is the tick count).
#[derive(Debug, Clone)]
pub struct Backlog {
    /// The most that may stay, in samples.
    bound: usize,
    window: u32,
    seen: u32,
    least: usize,
}

impl Backlog {
    pub fn new(bound: usize, window: u32) -> Self {
        Self {
            bound,
            window: window.max(1),
            seen: 0,
            least: usize::MAX,
        }
    }

    /// After a frame is read, with `left` samples still waiting: how many of the oldest to
    /// drop now (at most `left`).
    pub fn after_read(&mut self, left: usize) -> usize {
        self.least = self.least.min(left);
        self.seen += 1;
        if self.seen < self.window {
            return 0;
        }
        let excess = self.least.saturating_sub(self.bound);
        self.seen = 0;
        self.least = usize::MAX;
        excess.min(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_period_and_late_ticks_leave_is_not_cut() {
        let mut backlog = Backlog::new(480, WINDOW);
        // Left over swinging across the bound (a period of 441 plus scheduling jitter), and a
        // late tick now and then: nothing stays above the bound, nothing is dropped.
        let pattern = [0, 441, 20, 470, 530, 0, 441, 900, 441, 10];
        let dropped: usize = (0..500)
            .map(|i| backlog.after_read(pattern[i % pattern.len()]))
            .sum();
        assert_eq!(dropped, 0);
    }

    #[test]
    fn a_backlog_that_stays_is_cut_to_the_bound_in_one_piece() {
        let mut backlog = Backlog::new(480, WINDOW);
        // A late start: 100 ms more waits every tick, swinging by a period.
        let mut cuts = Vec::new();
        for i in 0..(WINDOW as usize * 3) {
            let left = 5_280 + if i % 2 == 0 { 441 } else { 0 };
            let left = left - cuts.iter().sum::<usize>();
            let cut = backlog.after_read(left);
            if cut > 0 {
                cuts.push(cut);
            }
        }
        assert_eq!(cuts, [4_800], "one cut, of what stayed above the bound");
    }
}
