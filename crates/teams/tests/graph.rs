//! Microsoft Graph against the stand-in over HTTPS, signed in through the real loopback
//! redirect: presence read in batches of at most 650 ids, an expired token refreshed once,
//! throttling answered by waiting what `Retry-After` says, an outage that keeps the last known
//! presence with its age, group members paged through `@odata.nextLink` (and a link off Graph
//! not followed), the user search with `ConsistencyLevel: eventual`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use switchboard_teams::graph::Graph;
use switchboard_teams::graph_answer::GraphError;
use switchboard_teams::poll_plan::{Budget, Outcome};
use switchboard_teams::presence_watch::PresenceWatch;
use switchboard_teams::{Availability, Session};
use switchboard_testkit::microsoft::body_json;
use tokio::sync::watch;

use common::{lab, new_session, sign_in_by_browser, Lab, MemoryVault};

async fn signed_in(lab: &Lab) -> Arc<Session> {
    lab.cloud.browser_signed_in_as(Some("agent@contoso.com"));
    let session = Arc::new(new_session(lab, Arc::new(MemoryVault::default())));
    sign_in_by_browser(lab, &session).await.expect("signed in");
    session
}

fn graph(session: &Arc<Session>) -> Arc<Graph> {
    Arc::new(Graph::new(session.clone()).expect("an HTTPS client"))
}

fn presence_posts(lab: &Lab) -> Vec<Vec<String>> {
    lab.cloud
        .graph_requests()
        .iter()
        .filter(|r| r.target == "/v1.0/communications/getPresencesByUserId")
        .map(|r| {
            body_json(r)["ids"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_of_a_thousand_experts_is_read_in_batches_of_at_most_650() {
    let lab = lab("graph_batches");
    let ids: Vec<String> = (0..1000)
        .map(|i| {
            lab.cloud.add_user(
                &format!("Expert {i}"),
                &format!("e{i}@contoso.com"),
                "",
                &[],
            )
        })
        .collect();
    lab.cloud.set_presence(&ids[0], "available", "available");
    lab.cloud.set_presence(&ids[700], "BUSY", "InACall");
    lab.cloud.set_presence(&ids[999], "FocusTime", "Focusing");
    let session = signed_in(&lab).await;
    let (_tx, watched) = watch::channel(ids.clone());
    let presence = PresenceWatch::new(graph(&session), watched);

    assert_eq!(presence.round().await, Outcome::Ok);

    let posts = presence_posts(&lab);
    let sizes: Vec<usize> = posts.iter().map(Vec::len).collect();
    assert_eq!(sizes, [650, 350]);
    assert_eq!(posts.concat(), ids, "every expert once, in order");
    let board = presence.board().borrow().clone();
    assert_eq!(board.len(), 1000);
    let of = |i: usize| board.get(&ids[i]).map(|s| s.presence.availability.clone());
    assert_eq!(of(0), Some(Availability::Available));
    assert_eq!(of(700), Some(Availability::Busy));
    assert_eq!(of(999), Some(Availability::Other("FocusTime".into())));
    assert_eq!(of(1), Some(Availability::PresenceUnknown));
    assert!(!board
        .get(&ids[999])
        .is_some_and(|s| s.presence.availability.is_free()));
    assert_eq!(board.problem(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_once_and_the_round_goes_through() {
    let lab = lab("graph_expired");
    let id = lab
        .cloud
        .add_user("Priya Raman", "priya@contoso.com", "", &[]);
    lab.cloud.set_presence(&id, "Available", "Available");
    let session = signed_in(&lab).await;
    let (_tx, watched) = watch::channel(vec![id.clone()]);
    let presence = PresenceWatch::new(graph(&session), watched);
    lab.cloud.expire_access_tokens();

    assert_eq!(presence.round().await, Outcome::Ok);

    let graph_answers = presence_posts(&lab).len();
    assert_eq!(graph_answers, 2, "the 401, then the same request again");
    let refreshes = lab
        .cloud
        .requests()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("grant_type=refresh_token"))
        .count();
    assert_eq!(refreshes, 1);
    let last = lab.cloud.graph_requests().pop().expect("a request");
    let bearer = last
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("a bearer token");
    assert!(
        lab.cloud.is_valid_access(bearer),
        "the fresh token was used"
    );
    assert!(presence.board().borrow().get(&id).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_round_waits_what_retry_after_says_then_polls_again() {
    let lab = lab("graph_throttled");
    let id = lab
        .cloud
        .add_user("Marco Silva", "marco@contoso.com", "", &[]);
    lab.cloud.set_presence(&id, "Busy", "InACall");
    let session = signed_in(&lab).await;
    lab.cloud.throttle_graph(1, 12);
    let (_tx, watched) = watch::channel(vec![id.clone()]);
    let presence = Arc::new(PresenceWatch::new(graph(&session), watched));
    let mut board = presence.board();
    // One desk: rounds every 10 s (the floor), the first at a random point of that.
    let budget = Budget {
        desks: 1,
        ..Budget::default()
    };
    let running = tokio::spawn({
        let presence = presence.clone();
        async move { presence.run(budget).await }
    });

    let throttled = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            board.changed().await.expect("the watcher runs");
            if let Some(p) = board.borrow().problem() {
                return p.message.clone();
            }
        }
    })
    .await
    .expect("the first round, within the first interval");
    assert!(throttled.contains("throttling"), "{throttled}");
    tokio::time::timeout(Duration::from_secs(20), async {
        while board.borrow().get(&id).is_none() {
            board.changed().await.expect("the watcher runs");
        }
    })
    .await
    .expect("a round after the wait");
    running.abort();

    let times: Vec<_> = lab
        .cloud
        .graph_requests()
        .iter()
        .map(|r| r.received)
        .collect();
    assert_eq!(times.len(), 2, "one throttled, one that went through");
    let waited = times[1] - times[0];
    assert!(
        waited >= Duration::from_secs(12),
        "polled again after {waited:?}, asked for 12 s"
    );
    assert_eq!(presence.board().borrow().problem(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_keeps_the_last_known_presence_with_its_age_never_a_false_free() {
    let lab = lab("graph_outage");
    let id = lab
        .cloud
        .add_user("陈静 Chen Jing", "chen@contoso.com", "", &[]);
    lab.cloud.set_presence(&id, "Available", "Available");
    let session = signed_in(&lab).await;
    let (_tx, watched) = watch::channel(vec![id.clone()]);
    let presence = PresenceWatch::new(graph(&session), watched);
    assert_eq!(presence.round().await, Outcome::Ok);
    let read_at = presence.board().borrow().get(&id).map(|s| s.as_of_ms);

    lab.cloud.graph_outage(true);
    lab.cloud.set_presence(&id, "Busy", "InACall");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(presence.round().await, Outcome::Failed);
    {
        let board = presence.board().borrow().clone();
        let problem = board.problem().expect("the outage is said");
        assert!(
            problem.message.contains("cannot be reached"),
            "{}",
            problem.message
        );
        let seen = board.get(&id).expect("the last known presence is kept");
        assert_eq!(Some(seen.as_of_ms), read_at, "with the time it was read");
        assert!(problem.since_ms > seen.as_of_ms);
    }

    lab.cloud.graph_outage(false);
    assert_eq!(presence.round().await, Outcome::Ok);
    let board = presence.board().borrow().clone();
    assert_eq!(board.problem(), None);
    assert_eq!(
        board.get(&id).map(|s| s.presence.availability.clone()),
        Some(Availability::Busy)
    );
    let checked = presence
        .check(&id)
        .await
        .expect("a re-read before dialling");
    assert_eq!(checked.presence.availability, Availability::Busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_are_paged_users_only_and_a_link_off_graph_is_not_followed() {
    let lab = lab("graph_members");
    let ids: Vec<String> = (0..5)
        .map(|i| {
            lab.cloud.add_user(
                &format!("Billing {i}"),
                &format!("b{i}@contoso.com"),
                "Billing specialist",
                &["+1 415 555 0100"],
            )
        })
        .collect();
    lab.cloud.add_group("billing-experts", &ids);
    lab.cloud.page_size(2);
    let session = signed_in(&lab).await;
    let graph = graph(&session);

    let members = graph
        .group_members("billing-experts")
        .await
        .expect("the members");
    let got: Vec<&str> = members.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(members[0].business_phones, ["+1 415 555 0100"]);
    assert_eq!(members[0].job_title.as_deref(), Some("Billing specialist"));
    let pages = lab.cloud.graph_requests();
    assert_eq!(pages.len(), 3, "six members (one a group), two a page");
    assert!(pages[0].target.contains("%24select=") || pages[0].target.contains("$select="));
    assert!(
        pages[2].target.contains("skiptoken=4"),
        "{}",
        pages[2].target
    );

    lab.cloud.next_links_to("https://127.0.0.2:9/v1.0");
    let off = graph.group_members("billing-experts").await;
    assert!(
        matches!(&off, Err(GraphError::OffGraph(link)) if link.starts_with("https://127.0.0.2:9/")),
        "{off:?}"
    );
    assert_eq!(lab.cloud.graph_requests().len(), 4, "the first page only");

    let missing = graph.group_members("no-such-group").await;
    assert!(
        matches!(&missing, Err(GraphError::Refused { status: 404, code, .. }) if code == "Request_ResourceNotFound"),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_search_asks_for_eventual_consistency_and_matches_word_starts() {
    let lab = lab("graph_search");
    lab.cloud.add_user(
        "Priya Raman",
        "priya@contoso.com",
        "Billing",
        &["+14155550100"],
    );
    lab.cloud
        .add_user("Marco Silva", "marco@contoso.com", "", &[]);
    let session = signed_in(&lab).await;
    let graph = graph(&session);

    let found = graph.search_users("ram").await.expect("a search");
    let names: Vec<_> = found
        .iter()
        .filter_map(|u| u.display_name.clone())
        .collect();
    assert_eq!(names, ["Priya Raman"]);
    let sent = lab.cloud.graph_requests().pop().expect("the search");
    assert_eq!(sent.header("consistencylevel"), Some("eventual"));
    assert!(sent.target.starts_with("/v1.0/users?"), "{}", sent.target);

    let hostile = graph.search_users("ra\" OR \"x").await.expect("a search");
    assert!(hostile.is_empty(), "the quote cannot close the clause");
    let sent = lab.cloud.graph_requests().pop().expect("the search");
    let (_, query) = sent.target.split_once('?').expect("a query");
    let search: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "$search")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(
        search,
        ["\"displayName:ra OR x\""],
        "one clause, the quotes taken out"
    );
    assert!(graph.search_users("  ").await.expect("nothing").is_empty());

    let by_name = graph.user("priya@contoso.com").await.expect("one user");
    assert_eq!(by_name.display_name.as_deref(), Some("Priya Raman"));
}
