//! The desk's link to Microsoft 365: the session (its refresh token in the keychain), the
//! roster resolved through Graph once signed in, presence polled for it, and what the window
//! shows of all that as one [`TeamsFeed`]. The engine does not know about any of it: the app
//! forwards the feed to [`crate::Engine::show_directory`].

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use switchboard_teams::graph::Graph;
use switchboard_teams::identity::Identity;
use switchboard_teams::presence_board::Board;
pub use switchboard_teams::presence_board::Problem as PresenceProblem;
use switchboard_teams::presence_watch::PresenceWatch;
pub use switchboard_teams::SignInView;
use switchboard_teams::{Session, Vault};
use tokio::sync::watch;

use crate::directory::{Expert, ExpertSettings};
use crate::phone::NumberPlan;
use crate::teams_roster::{self, Entry};
use crate::teams_settings::TeamsSettings;

/// After a roster that could not be read in full, try again this much later.
const ROSTER_RETRY: Duration = Duration::from_secs(60);
/// Groups change (people join, leave): the roster is read again this often.
const ROSTER_REFRESH: Duration = Duration::from_secs(30 * 60);

/// Microsoft 365 as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TeamsView {
    pub sign_in: SignInView,
    /// Presence rounds are failing: why, since when (the panel shows the last known).
    pub presence_problem: Option<PresenceProblem>,
    /// Experts or groups Graph could not give us.
    pub directory_problems: Vec<String>,
}

/// The experts with their presence, and the state of the link behind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamsFeed {
    pub experts: Vec<Expert>,
    pub view: TeamsView,
}

#[derive(Clone)]
pub struct TeamsLink {
    session: Arc<Session>,
    graph: Arc<Graph>,
    presence: Arc<PresenceWatch>,
    roster: watch::Receiver<Vec<Entry>>,
    /// What the last search found: the agent may escalate to them too.
    found: Arc<std::sync::Mutex<Vec<Entry>>>,
    feed: watch::Receiver<TeamsFeed>,
}

struct Roster {
    experts: Vec<ExpertSettings>,
    settings: TeamsSettings,
    plan: NumberPlan,
}

impl TeamsLink {
    /// Starts the link: resumes a kept sign-in, and from then on keeps the roster and its
    /// presence. Needs a Tokio runtime.
    pub fn start(
        settings: &TeamsSettings,
        experts: &[ExpertSettings],
        plan: NumberPlan,
        vault: Arc<dyn Vault>,
    ) -> Result<Self, String> {
        let identity = Identity::new(settings.client()?)?;
        let session = Arc::new(Session::new(identity, vault));
        let graph = Arc::new(Graph::new(session.clone())?);
        let (roster_tx, roster) = watch::channel(teams_roster::configured(experts));
        let (watched_tx, watched) = watch::channel(Vec::new());
        let presence = Arc::new(PresenceWatch::new(graph.clone(), watched));
        let (feed_tx, feed) = watch::channel(TeamsFeed {
            experts: teams_roster::with_presence(&roster.borrow(), &Board::default()),
            view: TeamsView {
                sign_in: session.view().borrow().clone(),
                presence_problem: None,
                directory_problems: Vec::new(),
            },
        });
        let link = Self {
            session,
            graph,
            presence,
            roster,
            found: Arc::default(),
            feed,
        };
        let budget = settings.budget();
        let polling = link.presence.clone();
        tokio::spawn(async move { polling.run(budget).await });
        let (problems_tx, problems) = watch::channel(Vec::new());
        let roster_settings = Roster {
            experts: experts.to_vec(),
            settings: settings.clone(),
            plan,
        };
        tokio::spawn(
            link.clone()
                .keep_roster(roster_settings, roster_tx, watched_tx, problems_tx),
        );
        tokio::spawn(link.clone().compose(feed_tx, problems));
        let resuming = link.session.clone();
        tokio::spawn(async move {
            if let Err(e) = resuming.resume().await {
                tracing::warn!("the Microsoft 365 sign-in was not resumed: {e}");
            }
        });
        Ok(link)
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    pub fn feed(&self) -> watch::Receiver<TeamsFeed> {
        self.feed.clone()
    }

    /// The expert `id` of the directory or of the last search.
    pub fn expert(&self, id: &str) -> Option<Expert> {
        self.entry(id).map(|e| e.expert)
    }

    fn entry(&self, id: &str) -> Option<Entry> {
        let in_roster = self
            .roster
            .borrow()
            .iter()
            .find(|e| e.expert.id == id)
            .cloned();
        in_roster.or_else(|| {
            self.found
                .lock()
                .ok()?
                .iter()
                .find(|e| e.expert.id == id)
                .cloned()
        })
    }

    /// The expert's presence read again now (just before dialling them), or why it cannot
    /// be; an expert Graph does not know has nothing to re-read (`Ok(None)`).
    pub async fn recheck(&self, expert_id: &str) -> Result<Option<Expert>, String> {
        let entry = self
            .entry(expert_id)
            .ok_or_else(|| format!("no expert {expert_id:?} in the directory"))?;
        let Some(graph_id) = &entry.graph_id else {
            return Ok(None);
        };
        let seen = self
            .presence
            .check(graph_id)
            .await
            .map_err(|e| e.to_string())?;
        let mut expert = entry.expert;
        expert.presence = teams_roster::presence_of(&seen, false);
        Ok(Some(expert))
    }

    /// Teams users whose name starts with `text`, as experts with their presence (read in
    /// the same go; unknown if that fails). They stay escalation targets until the next search.
    pub async fn search(&self, text: &str, plan: &NumberPlan) -> Result<Vec<Expert>, String> {
        let users = self
            .graph
            .search_users(text)
            .await
            .map_err(|e| e.to_string())?;
        let entries = teams_roster::searched(&users, plan);
        let ids = teams_roster::watched(&entries);
        let mut board = Board::default();
        if !ids.is_empty() {
            match self.graph.presences(&ids).await {
                Ok(read) => {
                    board.record(&ids, read, crate::engine::now_ms(), None);
                }
                Err(e) => tracing::warn!("presence of the search's {} users: {e}", ids.len()),
            }
        }
        let experts = teams_roster::with_presence(&entries, &board);
        if let Ok(mut found) = self.found.lock() {
            *found = entries;
        }
        Ok(experts)
    }

    /// Reads the roster when the session signs in, then every half hour (a minute after a
    /// partial failure).
    async fn keep_roster(
        self,
        config: Roster,
        roster: watch::Sender<Vec<Entry>>,
        watched: watch::Sender<Vec<String>>,
        problems: watch::Sender<Vec<String>>,
    ) {
        let mut view = self.session.view();
        let mut was_signed_in = false;
        let mut due = false;
        let mut wait = ROSTER_REFRESH;
        loop {
            let signed_in = matches!(*view.borrow_and_update(), SignInView::SignedIn { .. });
            // On signing in, and when the wait runs out; not on every view change.
            if signed_in && (!was_signed_in || due) {
                let previous = roster.borrow().clone();
                let (fresh, trouble) = teams_roster::resolve(
                    &self.graph,
                    &config.experts,
                    &config.settings.skill_groups,
                    &config.plan,
                    &previous,
                )
                .await;
                for problem in &trouble {
                    tracing::warn!("experts: {problem}");
                }
                watched.send_replace(teams_roster::watched(&fresh));
                roster.send_replace(fresh);
                wait = if trouble.is_empty() {
                    ROSTER_REFRESH
                } else {
                    ROSTER_RETRY
                };
                problems.send_replace(trouble);
            }
            due = false;
            was_signed_in = signed_in;
            tokio::select! {
                changed = view.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(wait), if signed_in => due = true,
            }
        }
    }

    /// The feed: the roster with the board's presence, and the sign-in and problems, sent
    /// whenever one of them changes.
    async fn compose(
        self,
        feed: watch::Sender<TeamsFeed>,
        mut problems: watch::Receiver<Vec<String>>,
    ) {
        let mut board = self.presence.board();
        let mut roster = self.roster.clone();
        let mut view = self.session.view();
        loop {
            let next = {
                let board = board.borrow_and_update();
                TeamsFeed {
                    experts: teams_roster::with_presence(&roster.borrow_and_update(), &board),
                    view: TeamsView {
                        sign_in: view.borrow_and_update().clone(),
                        presence_problem: board.problem().cloned(),
                        directory_problems: problems.borrow_and_update().clone(),
                    },
                }
            };
            feed.send_if_modified(|current| {
                let changed = *current != next;
                *current = next;
                changed
            });
            let ended = tokio::select! {
                c = board.changed() => c.is_err(),
                c = roster.changed() => c.is_err(),
                c = view.changed() => c.is_err(),
                c = problems.changed() => c.is_err(),
            };
            if ended {
                return;
            }
        }
    }
}
