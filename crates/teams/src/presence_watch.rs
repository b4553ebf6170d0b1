//! The thin loop that keeps the [`Board`] fresh: while signed in, a round of presence requests
//! (batches of at most 650 ids) whenever the [`PollSchedule`] says, the watched list and the
//! sign-in followed as they change. A re-read of one expert (before dialling them) goes
//! through the same board.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::watch;

use crate::graph::Graph;
use crate::graph_answer::GraphError;
use crate::poll_plan::{Budget, Outcome, PollSchedule, BATCH_MAX};
use crate::presence_board::{Board, Seen};
use crate::session::SignInView;

pub struct PresenceWatch {
    graph: Arc<Graph>,
    watched: watch::Receiver<Vec<String>>,
    board: watch::Sender<Board>,
}

impl PresenceWatch {
    /// Watches the experts `watched` names (Graph object ids); the board starts empty.
    pub fn new(graph: Arc<Graph>, watched: watch::Receiver<Vec<String>>) -> Self {
        Self {
            graph,
            watched,
            board: watch::Sender::new(Board::default()),
        }
    }

    pub fn board(&self) -> watch::Receiver<Board> {
        self.board.subscribe()
    }

    /// Polls until the watched list's sender goes.
    pub async fn run(&self, budget: Budget) {
        let random = SystemRandom::new();
        let mut watched = self.watched.clone();
        let mut view = self.graph.session().view();
        let mut schedule = PollSchedule::new(0, budget, Instant::now(), 0.0);
        let mut signed_in = false;
        loop {
            let now_in = matches!(*view.borrow_and_update(), SignInView::SignedIn { .. });
            if now_in && !signed_in {
                // Desks that resume together at the start of a shift spread over an interval.
                let experts = watched.borrow().len();
                schedule = PollSchedule::new(experts, budget, Instant::now(), unit(&random));
                // Signed in again: presence can be read; the first round tells how it is.
                self.board.send_if_modified(|b| b.resume());
            } else if !now_in {
                self.board
                    .send_if_modified(|b| b.halt("not signed in to Microsoft 365", wall_ms()));
            }
            signed_in = now_in;
            tokio::select! {
                _ = tokio::time::sleep_until(schedule.poll_timeout().into()), if signed_in => {
                    let outcome = self.round().await;
                    schedule.on_outcome(outcome, Instant::now(), unit(&random));
                }
                changed = watched.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let experts = watched.borrow_and_update().len();
                    if experts > 0 && schedule.is_idle() {
                        // The first experts: a round within this interval, not after it.
                        schedule = PollSchedule::new(experts, budget, Instant::now(), unit(&random));
                    } else {
                        schedule.set_experts(experts);
                    }
                }
                changed = view.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// One round over every watched expert, batch after batch; a batch that fails ends it
    /// (the next batches would meet the same throttling or outage).
    pub async fn round(&self) -> Outcome {
        let ids = self.watched.borrow().clone();
        if ids.is_empty() {
            return Outcome::Idle;
        }
        let mut read = Vec::new();
        let mut failure: Option<GraphError> = None;
        for batch in ids.chunks(BATCH_MAX) {
            match self.graph.presences(batch).await {
                Ok(presences) => read.extend(presences),
                Err(e) => {
                    tracing::warn!("presence of {} experts not read: {e}", batch.len());
                    failure = Some(e);
                    break;
                }
            }
        }
        let message = failure.as_ref().map(ToString::to_string);
        self.board
            .send_if_modified(|b| b.record(&ids, read, wall_ms(), message));
        failure.map_or(Outcome::Ok, |e| e.outcome())
    }

    /// Reads one expert's presence now (just before dialling them), into the board as well.
    pub async fn check(&self, id: &str) -> Result<Seen, GraphError> {
        let mut presences = self.graph.presences(&[id.to_owned()]).await?;
        let found = presences
            .iter()
            .position(|p| p.id.eq_ignore_ascii_case(id))
            .map(|i| presences.swap_remove(i))
            .ok_or_else(|| GraphError::Malformed(format!("no presence for {id} in the answer")))?;
        let seen = Seen {
            presence: found.clone(),
            as_of_ms: wall_ms(),
        };
        let watched = self.watched.borrow().clone();
        self.board.send_if_modified(|b| {
            let problem = b.problem().map(|p| p.message.clone());
            b.record(&watched, vec![found], seen.as_of_ms, problem)
        });
        Ok(seen)
    }
}

/// A uniform draw in 0..1 for the schedule's jitter (0.5, the middle, if the system's random
/// source fails: the schedule stays within its budget either way).
fn unit(random: &SystemRandom) -> f64 {
    let mut bytes = [0u8; 4];
    match random.fill(&mut bytes) {
        Ok(()) => u32::from_le_bytes(bytes) as f64 / (u32::MAX as f64 + 1.0),
        Err(_) => 0.5,
    }
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
