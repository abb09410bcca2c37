//! DESIGN.md feature 1, rule by rule: changes made in the simulated Desk reach deskcliq as
//! real signed webhook deliveries and come out in the simulated Cliq.

mod common;

use common::app::*;
use deskcliq::sim::{CliqTarget, Fault, FaultKind, NewTicket, SimTask, TicketPatch};

fn new_ticket(subject: &str, dep: &str, assignee: Option<&str>) -> NewTicket {
    NewTicket {
        subject: subject.into(),
        department_id: dep.into(),
        contact_email: "customer@example.com".into(),
        assignee_id: assignee.map(str::to_string),
        priority: Some("High".into()),
        ..Default::default()
    }
}

fn channel(name: &str) -> CliqTarget {
    CliqTarget::Channel(name.into())
}

fn dm(zuid: &str) -> CliqTarget {
    CliqTarget::Dm(vec![zuid.into()])
}

fn text(r: &deskcliq::sim::CliqRecord) -> String {
    r.message.to_string()
}

#[actix_rt::test]
async fn new_unassigned_ticket_goes_to_its_department_channel() {
    let env = Env::start("").await;
    let t = env
        .sim
        .create_ticket(new_ticket("Printer on fire", SUPPORT, None));
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0].target, channel("support"));
    let card = &msgs[0].message;
    assert_eq!(
        card["card"]["title"],
        format!("#{} Printer on fire", t.ticket_number)
    );
    assert!(card["text"].as_str().unwrap().contains("New ticket"));
    let buttons: Vec<&str> = card["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        buttons,
        [
            "Change status",
            "Assign",
            "Reply",
            "Comment",
            "Open in Desk"
        ]
    );
    assert_eq!(card["buttons"][0]["key"], format!("status:{}", t.id));
    assert_eq!(card["buttons"][0]["action"]["data"]["name"], "deskaction");
}

#[actix_rt::test]
async fn assigned_ticket_goes_to_dm_not_channel() {
    let env = Env::start("").await;
    a_ticket_for_sato_is_one_dm(&env).await;
}

/// A new ticket assigned to Sato reaches him by DM, and nothing else is posted.
async fn a_ticket_for_sato_is_one_dm(env: &Env) {
    env.sim
        .create_ticket(new_ticket("Refund", SUPPORT, Some(SATO)));
    let msgs = env.settle().await;
    assert_eq!(
        msgs.iter().map(|m| m.target.clone()).collect::<Vec<_>>(),
        [dm(SATO_ZUID)]
    );
}

#[actix_rt::test]
async fn each_ticket_change_is_announced_with_old_and_new() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.settle().await;
    let steps: Vec<(TicketPatch, &str)> = vec![
        (
            TicketPatch {
                status: Some("On Hold".into()),
                ..Default::default()
            },
            "Status: Open → On Hold",
        ),
        (
            TicketPatch {
                status: Some("Closed".into()),
                ..Default::default()
            },
            "Ticket closed",
        ),
        (
            TicketPatch {
                status: Some("Open".into()),
                ..Default::default()
            },
            "Ticket reopened",
        ),
        (
            TicketPatch {
                is_escalated: Some(true),
                ..Default::default()
            },
            "Ticket escalated",
        ),
    ];
    for (patch, expected) in steps {
        let before = env.sim.cliq_messages().len();
        env.sim.update_ticket(&t.id, patch, Some(KIM));
        let msgs = env.settle().await;
        assert_eq!(msgs.len(), before + 1, "{expected}: {msgs:?}");
        let last = msgs.last().unwrap();
        assert_eq!(last.target, channel("support"));
        assert!(
            last.message["text"].as_str().unwrap().contains(expected),
            "{expected} not in {}",
            text(last)
        );
        assert!(
            last.message["text"]
                .as_str()
                .unwrap()
                .contains("by Alex Kim"),
            "{}",
            text(last)
        );
    }
}

#[actix_rt::test]
async fn a_ticket_a_customer_created_names_no_one_as_its_author() {
    let env = Env::start("").await;
    // Created by mail: Desk's createdBy is not an agent of the portal.
    env.sim.create_ticket(new_ticket("By mail", SUPPORT, None));
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 1);
    let headline = msgs[0].message["text"].as_str().unwrap();
    assert!(!headline.contains("by "), "{headline}");
}

#[actix_rt::test]
async fn owner_change_is_a_dm_to_the_new_owner_with_old_and_new() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.settle().await;
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            assignee_id: Some(Some(SATO.into())),
            ..Default::default()
        },
        Some(KIM),
    );
    let msgs = env.settle().await;
    let last = msgs.last().unwrap();
    assert_eq!(last.target, dm(SATO_ZUID));
    assert!(
        last.message["text"]
            .as_str()
            .unwrap()
            .contains("Assignee: Unassigned → Hanako Sato"),
        "{}",
        text(last)
    );
}

#[actix_rt::test]
async fn an_assignment_to_a_team_says_team_not_unassigned() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
    env.settle().await;
    // Agent → team: Desk clears the assignee and sets the team; the channel hears of it.
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            assignee_id: Some(None),
            team_id: Some(Some("1892000000090001".into())),
            ..Default::default()
        },
        Some(KIM),
    );
    let last = env.settle().await.pop().unwrap();
    assert_eq!(last.target, channel("support"));
    let card = text(&last);
    assert!(
        last.message["text"]
            .as_str()
            .unwrap()
            .contains("Assignee: Hanako Sato → Team"),
        "{card}"
    );
    assert!(!card.contains("Unassigned"), "{card}");
    // Team → agent.
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            assignee_id: Some(Some(SUZUKI.into())),
            ..Default::default()
        },
        Some(KIM),
    );
    let last = env.settle().await.pop().unwrap();
    assert_eq!(last.target, dm(SUZUKI_ZUID));
    assert!(
        last.message["text"]
            .as_str()
            .unwrap()
            .contains("Assignee: Team → Taro Suzuki"),
        "{}",
        text(&last)
    );
}

#[actix_rt::test]
async fn a_change_by_the_owner_is_silent() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
    env.settle().await;
    let before = env.sim.cliq_messages().len();
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
        Some(SATO),
    );
    assert_eq!(env.settle().await.len(), before);
    // Assigning a ticket to oneself is silent too.
    let u = env.sim.create_ticket(new_ticket("y", SUPPORT, None));
    env.settle().await;
    let before = env.sim.cliq_messages().len();
    env.sim.update_ticket(
        &u.id,
        TicketPatch {
            assignee_id: Some(Some(SUZUKI.into())),
            ..Default::default()
        },
        Some(SUZUKI),
    );
    assert_eq!(env.settle().await.len(), before);
}

#[actix_rt::test]
async fn moved_department_posts_to_the_new_channel_saying_where_from() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.settle().await;
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            department_id: Some(BILLING.into()),
            ..Default::default()
        },
        Some(KIM),
    );
    let last = env.settle().await.pop().unwrap();
    assert_eq!(last.target, channel("billing"));
    assert!(
        last.message["text"]
            .as_str()
            .unwrap()
            .contains("Moved from Support to Billing"),
        "{}",
        text(&last)
    );
}

#[actix_rt::test]
async fn unlisted_department_goes_to_the_org_channel() {
    let env = Env::start("").await;
    env.sim.create_ticket(new_ticket("lead", SALES, None));
    let msgs = env.settle().await;
    assert_eq!(msgs[0].target, channel("desk"));
}

#[actix_rt::test]
async fn disabled_department_gets_no_channel_post_but_dms_still_go() {
    let departments = DEPARTMENTS.replace(
        "channel = \"billing\"",
        "channel = \"billing\"\nenabled = false",
    );
    let env = Env::start_with(&departments, "").await;
    env.sim
        .create_ticket(new_ticket("unassigned", BILLING, None));
    env.sim
        .create_ticket(new_ticket("assigned", BILLING, Some(SUZUKI)));
    let msgs = env.settle().await;
    assert_eq!(
        msgs.iter().map(|m| m.target.clone()).collect::<Vec<_>>(),
        [dm(SUZUKI_ZUID)]
    );
}

#[actix_rt::test]
async fn team_only_and_agents_without_a_cliq_user_go_to_the_channel() {
    let env = Env::start("").await;
    let mut team = new_ticket("team", SUPPORT, None);
    team.team_id = Some("1892000000090001".into());
    env.sim.create_ticket(team);
    env.sim
        .create_ticket(new_ticket("nouser", SUPPORT, Some(NOUSER)));
    let msgs = env.settle().await;
    assert_eq!(
        msgs.iter().map(|m| m.target.clone()).collect::<Vec<_>>(),
        [channel("support"), channel("support")]
    );
}

#[actix_rt::test]
async fn an_assignee_who_is_no_cliq_user_of_the_organisation_is_announced_in_the_channel() {
    let mut env = Env::start("").await;
    // Suzuki's Zoho user has no Cliq account; Kim's belongs to another Cliq organisation.
    env.sim.with(|st| {
        st.remove_cliq_user(SUZUKI_ZUID);
        st.add_foreign_cliq_user("55667790", "kim@example.co.jp");
    });
    env.restart().await;
    // The directory is fetched again at start.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while env.app().router.directory.get().cliq_user(SUZUKI).is_some()
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    env.sim
        .create_ticket(new_ticket("suzuki", SUPPORT, Some(SUZUKI)));
    env.sim.create_ticket(new_ticket("kim", SUPPORT, Some(KIM)));
    env.sim
        .create_ticket(new_ticket("sato", SUPPORT, Some(SATO)));
    let msgs = env.settle().await;
    assert_eq!(
        msgs.iter().map(|m| m.target.clone()).collect::<Vec<_>>(),
        [channel("support"), channel("support"), dm(SATO_ZUID)]
    );
}

#[actix_rt::test]
async fn a_cliq_without_the_users_api_still_gets_the_dms() {
    let mut env = Env::start("").await;
    // A bare 404 (no such API here), not Cliq saying there is no such user.
    env.sim.inject(Fault {
        path_contains: "/api/v2/users/".into(),
        kind: FaultKind::Answer {
            status: 404,
            body: r#"{"code":"url_not_found","message":"Invalid URL"}"#.into(),
        },
        times: 100,
    });
    env.restart().await;
    a_ticket_for_sato_is_one_dm(&env).await;
}

#[actix_rt::test]
async fn changes_desk_delivers_in_one_array_are_each_announced_in_order() {
    let env = Env::start("").await;
    env.sim.with(|st| st.batch_deliveries = true);
    // Four changes before Desk sends anything: one delivery, an array of four events.
    let t = env.sim.create_ticket(new_ticket("burst", SUPPORT, None));
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            assignee_id: Some(Some(SATO.into())),
            ..Default::default()
        },
        Some(KIM),
    );
    env.sim.add_comment(&t.id, SUZUKI, "please look", false);
    let msgs = env.settle().await;
    let deliveries = env.sim.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].body.as_array().map(Vec::len), Some(4));
    assert_eq!(deliveries[0].status, Some(200));
    let seen: Vec<(CliqTarget, String)> =
        msgs.iter().map(|m| (m.target.clone(), text(m))).collect();
    assert_eq!(
        seen.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
        [
            channel("support"),
            channel("support"),
            dm(SATO_ZUID),
            dm(SATO_ZUID)
        ],
        "{seen:?}"
    );
    assert!(seen[0].1.contains("New ticket"), "{}", seen[0].1);
    assert!(seen[1].1.contains("Open → On Hold"), "{}", seen[1].1);
    assert!(seen[3].1.contains("please look"), "{}", seen[3].1);
}

#[actix_rt::test]
async fn comments_go_to_the_owner_and_mentions_to_the_mentioned() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
    env.settle().await;
    let before = env.sim.cliq_messages().len();
    env.sim
        .add_comment(
            &t.id,
            SUZUKI,
            "zsu[@user:55667790]zsu could you check {@all}?",
            false,
        )
        .unwrap();
    let msgs = env.settle().await;
    let new: Vec<_> = msgs[before..].to_vec();
    let targets: Vec<CliqTarget> = new.iter().map(|m| m.target.clone()).collect();
    assert!(targets.contains(&dm(SATO_ZUID)), "{targets:?}");
    assert!(targets.contains(&dm("55667790")), "{targets:?}");
    assert_eq!(new.len(), 2);
    let mention = new.iter().find(|m| m.target == dm("55667790")).unwrap();
    assert!(
        mention.message["text"]
            .as_str()
            .unwrap()
            .contains("Taro Suzuki mentioned you")
    );
    let body = mention.message["slides"][1]["data"].as_str().unwrap();
    assert!(
        body.contains("@Alex Kim") && !body.contains("{@all}"),
        "{body}"
    );
    // The owner's own comment is silent for the owner.
    let before = env.sim.cliq_messages().len();
    env.sim.add_comment(&t.id, SATO, "done", true).unwrap();
    assert_eq!(env.settle().await.len(), before);
}

#[actix_rt::test]
async fn a_mention_of_the_owner_is_one_dm_even_with_comments_switched_off() {
    for (switches, expected) in [
        ("", "New private comment"),
        (
            "[notify.ticket]\ncomment_added = false\n",
            "Taro Suzuki mentioned you",
        ),
    ] {
        let env = Env::start(switches).await;
        let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
        env.settle().await;
        let before = env.sim.cliq_messages().len();
        env.sim
            .add_comment(&t.id, SUZUKI, "zsu[@user:55667788]zsu please look", false)
            .unwrap();
        let new: Vec<_> = env.settle().await[before..].to_vec();
        assert_eq!(
            new.iter().map(|m| m.target.clone()).collect::<Vec<_>>(),
            [dm(SATO_ZUID)],
            "{switches}: {new:?}"
        );
        assert!(text(&new[0]).contains(expected), "{}", text(&new[0]));
    }
}

#[actix_rt::test]
async fn a_comment_on_a_ticket_deskcliq_never_saw_reaches_its_assignee_with_its_number() {
    let env = Env::start("").await;
    // A ticket older than the install: Desk sent no webhook for it.
    let now = env.clock.now();
    let (t, _) = env
        .sim
        .with(|st| st.create_ticket(new_ticket("Old printer", SUPPORT, Some(SATO)), now));
    let before = env.settle().await.len();
    env.sim
        .add_comment(&t.id, SUZUKI, "Any news?", false)
        .unwrap();
    let msgs = env.settle().await;
    let new: Vec<_> = msgs[before..].to_vec();
    assert_eq!(
        new.iter().map(|m| m.target.clone()).collect::<Vec<_>>(),
        [dm(SATO_ZUID)],
        "{new:?}"
    );
    let card = text(&new[0]);
    assert!(
        card.contains("Old printer") && card.contains(&t.ticket_number),
        "{card}"
    );
}

/// A task ("Call the customer back", open, no due date) owned by `owner`, made by `creator`.
fn task(owner: &str, creator: &str) -> SimTask {
    SimTask {
        id: String::new(),
        subject: "Call the customer back".into(),
        department_id: SUPPORT.into(),
        ticket_id: None,
        owner_id: owner.into(),
        creator_id: creator.into(),
        status: "Not Started".into(),
        status_type: "Open".into(),
        due_date: None,
        completed_time: None,
        reminder: vec![],
        created_time: 0,
        modified_time: 0,
        web_url: "https://desk.zoho.jp/x".into(),
        modified_by: serde_json::json!({"id": creator}),
    }
}

#[actix_rt::test]
async fn activities_are_announced_to_their_owner_when_someone_else_created_them() {
    let env = Env::start("").await;
    env.sim.create_task(task(SATO, SATO));
    let t = env.sim.create_task(task(SATO, SUZUKI));
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0].target, dm(SATO_ZUID));
    assert!(
        msgs[0].message["text"]
            .as_str()
            .unwrap()
            .contains("New task: Call the customer back")
    );
    env.sim.complete_task(&t.id, SUZUKI);
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs[1].message["text"]
            .as_str()
            .unwrap()
            .contains("Completed task: Call the customer back"),
        "{}",
        text(&msgs[1])
    );
}

#[actix_rt::test]
async fn a_completed_activity_headline_starts_with_a_capital() {
    let env = Env::start("").await;
    let task = env.sim.create_task(task(SATO, SUZUKI));
    env.settle().await;
    let before = env.sim.cliq_messages().len();
    env.sim.complete_task(&task.id, SUZUKI);
    let new: Vec<_> = env.settle().await[before..].to_vec();
    assert_eq!(new.len(), 1, "{new:?}");
    // Not "task completed: …": the activity's kind is a lowercase word.
    let headline = new[0].message["text"].as_str().unwrap();
    assert!(
        headline.starts_with("*Completed task: Call the customer back*"),
        "{headline}"
    );
}

#[actix_rt::test]
async fn a_completed_task_card_shows_no_due_time_of_its_ticket() {
    let env = Env::start("").await;
    let mut nt = new_ticket("x", SUPPORT, Some(KIM));
    nt.due_date = Some(t0() + chrono::Duration::hours(5));
    let t = env.sim.create_ticket(nt);
    env.settle().await;
    let task = env.sim.create_task(SimTask {
        ticket_id: Some(t.id.clone()),
        ..task(SATO, SUZUKI)
    });
    env.settle().await;
    let before = env.sim.cliq_messages().len();
    env.sim.complete_task(&task.id, SUZUKI);
    let new: Vec<_> = env.settle().await[before..].to_vec();
    assert_eq!(new.len(), 1, "{new:?}");
    let card = text(&new[0]);
    assert!(card.contains("Completed task"), "{card}");
    // "Due" on the card of an activity is the activity's: the ticket's is not it.
    assert!(!card.contains("\"Due\""), "{card}");
}

#[actix_rt::test]
async fn a_reload_shortening_rating_poll_minutes_polls_from_the_last_poll() {
    use deskcliq::config::{Config, LoadEnv};
    let mut env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
    env.settle().await;
    env.clock.advance(chrono::Duration::minutes(2));
    let now = env.clock.now();
    env.sim
        .with(|st| st.add_rating(&t.id, "good", Some("助かりました"), now));
    // Two minutes after the start (the default 15-minute wait under way), a reload makes the
    // interval one minute: the poll is due already, not in 15 minutes.
    let text = env
        .config_text
        .replacen("[cliq]\n", "rating_poll_minutes = 1\n[cliq]\n", 1);
    let config = Config::parse(
        &text,
        &env.dir.path().join("config.toml"),
        &LoadEnv::default(),
    )
    .unwrap();
    env.app.as_mut().unwrap().apply(config);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let msgs = env.settle().await;
        if msgs
            .iter()
            .any(|m| m.target == dm(SATO_ZUID) && m.message.to_string().contains("助かりました"))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no poll: {msgs:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[actix_rt::test]
async fn a_rating_in_the_same_second_as_the_last_poll_is_announced() {
    // The last poll's time has nanoseconds; Desk writes a rating's time to the millisecond.
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
    env.settle().await;
    let at = env.clock.now();
    let meta = env
        .app()
        .store
        .tree::<String, chrono::DateTime<chrono::Utc>>(deskcliq::store::TreeName::Meta);
    meta.insert(
        &"ratings_since".to_string(),
        &(at + chrono::Duration::nanoseconds(400_000)),
    )
    .unwrap();
    env.sim.with(|st| {
        st.desk.ratings_time_filter = false;
        st.add_rating(&t.id, "good", Some("just now"), at);
    });
    assert_eq!(
        deskcliq::pipeline::poll_once(&env.app().router)
            .await
            .unwrap(),
        1
    );
}

#[actix_rt::test]
async fn a_rating_older_than_the_last_poll_is_not_announced_when_desk_ignores_the_time_window() {
    // The ratings list's time filter is not in Zoho's documents: a Desk that ignores it
    // answers with last month's ratings too. Only the new one is news.
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
    env.settle().await;
    let meta = env
        .app()
        .router
        .shared
        .store
        .tree::<String, chrono::DateTime<chrono::Utc>>(deskcliq::store::TreeName::Meta);
    let since = env.clock.now();
    meta.insert(&"ratings_since".to_string(), &since).unwrap();
    env.sim.with(|st| {
        st.desk.ratings_time_filter = false;
        st.add_rating(
            &t.id,
            "bad",
            Some("last month"),
            since - chrono::Duration::days(30),
        );
    });
    env.clock.advance(chrono::Duration::minutes(1));
    let now = env.clock.now();
    env.sim
        .with(|st| st.add_rating(&t.id, "good", Some("today"), now));
    assert_eq!(
        deskcliq::pipeline::poll_once(&env.app().router)
            .await
            .unwrap(),
        1
    );
    let msgs = env.settle().await;
    assert!(
        msgs.iter().any(|m| m.message.to_string().contains("today")),
        "{msgs:?}"
    );
    assert!(
        !msgs
            .iter()
            .any(|m| m.message.to_string().contains("last month")),
        "{msgs:?}"
    );
}

#[actix_rt::test]
async fn a_new_rating_is_a_dm_to_the_tickets_agent() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
    env.settle().await;
    env.clock.advance(chrono::Duration::minutes(1));
    let now = env.clock.now();
    env.sim
        .with(|st| st.add_rating(&t.id, "good", Some("とても速い"), now));
    assert_eq!(
        deskcliq::pipeline::poll_once(&env.app().router)
            .await
            .unwrap(),
        1
    );
    // Polled again: not announced twice.
    env.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(
        deskcliq::pipeline::poll_once(&env.app().router)
            .await
            .unwrap(),
        0
    );
    let last = env.settle().await.pop().unwrap();
    assert_eq!(last.target, dm(SATO_ZUID));
    assert!(
        last.message["text"]
            .as_str()
            .unwrap()
            .contains("Customer rating: Good")
    );
}

#[actix_rt::test]
async fn a_switch_turned_off_silences_its_event() {
    let env = Env::start("[notify.ticket]\ncreated = false\nclosed = false\n").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("Closed".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("Open".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 1, "only the reopen: {msgs:?}");
    assert!(
        msgs[0].message["text"]
            .as_str()
            .unwrap()
            .contains("reopened")
    );
}

#[actix_rt::test]
async fn dms_switched_off_send_the_owners_notifications_to_the_channel() {
    let env = Env::start("[notify.dm]\nenabled = false\n").await;
    env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
    assert_eq!(env.settle().await[0].target, channel("support"));
}

#[actix_rt::test]
async fn a_duplicate_delivery_is_posted_once() {
    let env = Env::start("").await;
    env.sim.with(|st| st.deliver_twice = true);
    env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    let msgs = env.settle().await;
    assert_eq!(env.sim.deliveries().len(), 2);
    assert_eq!(msgs.len(), 1);
}

#[actix_rt::test]
async fn an_event_left_twice_in_the_inbox_by_a_crash_is_posted_once() {
    use deskcliq::notify::event::{InboxEvent, parse_body};
    use deskcliq::store::TreeName;
    let env = Env::start("").await;
    let body = serde_json::json!([{
        "eventType": "Ticket_Add",
        "orgId": deskcliq::sim::DESK_ORG_ID,
        "eventTime": env.clock.now().timestamp_millis().to_string(),
        "payload": {
            "id": "1892000000777001", "ticketNumber": "777", "subject": "twice in the inbox",
            "departmentId": SUPPORT, "status": "Open", "statusType": "Open",
            "modifiedTime": "2026-11-25T01:00:00.000Z", "createdTime": "2026-11-25T01:00:00.000Z"
        }
    }]);
    let event = parse_body(body.to_string().as_bytes()).unwrap().remove(0);
    // A crash between storing a delivery and marking it seen lets Desk's retry store it again.
    let store = env.app().store.clone();
    let inbox = store.tree::<u64, InboxEvent>(TreeName::Inbox);
    for _ in 0..2 {
        inbox.insert(&store.next_id().unwrap(), &event).unwrap();
    }
    env.app().router.wake.notify_one();
    let msgs = env.settle().await;
    let posted: Vec<_> = msgs
        .iter()
        .filter(|m| m.message.to_string().contains("twice in the inbox"))
        .collect();
    assert_eq!(posted.len(), 1, "{msgs:?}");
}

fn ticket_add(
    env: &Env,
    id: &str,
    number: &str,
    subject: &str,
) -> deskcliq::notify::event::InboxEvent {
    let body = serde_json::json!([{
        "eventType": "Ticket_Add",
        "orgId": deskcliq::sim::DESK_ORG_ID,
        "eventTime": env.clock.now().timestamp_millis().to_string(),
        "payload": {
            "id": id, "ticketNumber": number, "subject": subject,
            "departmentId": SUPPORT, "status": "Open", "statusType": "Open",
            "dueDate": "2026-11-25T05:00:00.000Z",
            "modifiedTime": "2026-11-25T01:00:00.000Z", "createdTime": "2026-11-25T01:00:00.000Z"
        }
    }]);
    deskcliq::notify::event::parse_body(body.to_string().as_bytes())
        .unwrap()
        .remove(0)
}

#[actix_rt::test]
async fn an_unreadable_inbox_record_is_set_aside_and_the_events_behind_it_are_routed() {
    use deskcliq::notify::event::InboxEvent;
    use deskcliq::store::TreeName;
    let env = Env::start("").await;
    let store = env.app().store.clone();
    // A record this build cannot read (bad JSON, or a shape it does not know), then a good one.
    store
        .tree::<u64, String>(TreeName::Inbox)
        .insert(&store.next_id().unwrap(), &"not an event".to_string())
        .unwrap();
    let event = ticket_add(&env, "1892000000777003", "778", "behind a bad record");
    store
        .tree::<u64, InboxEvent>(TreeName::Inbox)
        .insert(&store.next_id().unwrap(), &event)
        .unwrap();
    env.app().router.wake.notify_one();
    let msgs = env.settle().await;
    assert!(
        msgs.iter()
            .any(|m| m.message.to_string().contains("behind a bad record")),
        "{msgs:?}"
    );
    assert_eq!(store.corrupt_records(), 1);
    let metrics = reqwest::get(format!("http://{}/metrics", env.app().addrs[0]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("deskcliq_store_corrupt_records_total 1"),
        "{metrics}"
    );
}

#[actix_rt::test]
async fn an_unreadable_ticket_or_alert_record_is_replaced_and_routing_goes_on() {
    use deskcliq::notify::event::InboxEvent;
    use deskcliq::notify::model::TicketSnapshot;
    use deskcliq::store::TreeName;
    let env = Env::start("").await;
    let store = env.app().store.clone();
    let id = "1892000000777004".to_string();
    for tree in [TreeName::Tickets, TreeName::Armed] {
        store
            .tree::<String, String>(tree)
            .insert(&id, &"garbled".to_string())
            .unwrap();
    }
    let event = ticket_add(&env, &id, "779", "over a bad snapshot");
    store
        .tree::<u64, InboxEvent>(TreeName::Inbox)
        .insert(&store.next_id().unwrap(), &event)
        .unwrap();
    env.app().router.wake.notify_one();
    let msgs = env.settle().await;
    assert!(
        msgs.iter()
            .any(|m| m.message.to_string().contains("over a bad snapshot")),
        "{msgs:?}"
    );
    let snap = store
        .tree::<String, TicketSnapshot>(TreeName::Tickets)
        .get(&id)
        .unwrap()
        .unwrap();
    assert_eq!(snap.number, "779");
    // Its SLA alerts were armed over the unreadable record.
    assert!(
        store
            .tree::<String, deskcliq::deadlines::Armed>(TreeName::Armed)
            .get(&id)
            .unwrap()
            .is_some_and(|a| !a.keys.is_empty())
    );
    assert_eq!(store.corrupt_records(), 2);
}

#[actix_rt::test]
async fn customer_text_cannot_ping_mention_or_link() {
    let env = Env::start("").await;
    env.sim.create_ticket(new_ticket(
        "{@all} *urgent* [click](https://evil.example) {#C1}",
        SUPPORT,
        None,
    ));
    let msgs = env.settle().await;
    let title = msgs[0].message["card"]["title"]
        .as_str()
        .unwrap()
        .to_string();
    let all = msgs[0].message.to_string();
    for bad in [
        "{@all}",
        "{#C1}",
        "[click]",
        "](https",
        "https://evil",
        "*urgent*",
    ] {
        assert!(!all.contains(bad), "{bad} in {all}");
    }
    assert!(
        title.contains("urgent") && title.contains("click"),
        "{title}"
    );
}

#[actix_rt::test]
async fn ja_and_en_cards_for_the_same_event() {
    let en = Env::start("").await;
    en.sim
        .create_ticket(new_ticket("プリンター", SUPPORT, None));
    let en_msg = en.settle().await.remove(0);
    let mut ja = Env::start("").await;
    // The same event with the org locale switched to ja (as a reload would).
    let mut cfg = (*ja.app().config()).clone();
    cfg.org.locale = deskcliq::config::Locale::Ja;
    ja.app.as_mut().unwrap().apply(cfg);
    ja.sim
        .create_ticket(new_ticket("プリンター", SUPPORT, None));
    let ja_msg = ja.settle().await.remove(0);
    assert!(
        en_msg.message["text"]
            .as_str()
            .unwrap()
            .contains("New ticket")
    );
    assert!(
        ja_msg.message["text"]
            .as_str()
            .unwrap()
            .contains("新しいチケット")
    );
    let labels = |m: &deskcliq::sim::CliqRecord| {
        m.message["buttons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["label"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        labels(&ja_msg),
        [
            "ステータス変更",
            "担当者を割り当て",
            "返信",
            "コメント",
            "Deskで開く"
        ]
    );
    assert_eq!(labels(&en_msg).len(), 5);
}

#[actix_rt::test]
async fn an_edited_comment_is_announced() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    let c = env.sim.add_comment(&t.id, KIM, "first", true).unwrap();
    env.settle().await;
    env.sim.edit_comment(&c.id, "second thoughts");
    let last = env.settle().await.pop().unwrap();
    assert!(
        last.message["text"]
            .as_str()
            .unwrap()
            .contains("Comment edited"),
        "{}",
        text(&last)
    );
    assert!(last.message.to_string().contains("second thoughts"));
}

#[actix_rt::test]
async fn webhook_events_cost_no_desk_call() {
    let env = Env::start("").await;
    // Start-up reads the agent list and reconciles; after that, events need no Desk call.
    let mut before = env.sim.desk_credits_used();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = env.sim.desk_credits_used();
        if now == before {
            break;
        }
        before = now;
    }
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("Closed".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    env.sim.add_comment(&t.id, KIM, "done", true).unwrap();
    assert_eq!(env.settle().await.len(), 3);
    assert_eq!(env.sim.desk_credits_used(), before);
}

/// One switch per run: the change it governs is silent, the others still speak.
#[actix_rt::test]
async fn each_switch_turned_off_silences_only_its_change() {
    let cases: [(&str, &str); 9] = [
        ("[notify.ticket]\nreopened = false\n", "reopened"),
        ("[notify.ticket]\nstatus_changed = false\n", "Status:"),
        ("[notify.ticket]\nowner_changed = false\n", "Assignee:"),
        (
            "[notify.ticket]\ndepartment_changed = false\n",
            "Moved from",
        ),
        ("[notify.ticket]\nescalated = false\n", "escalated"),
        ("[notify.ticket]\ncomment_added = false\n", "New comment"),
        (
            "[notify.ticket]\ncomment_edited = false\n",
            "Comment edited",
        ),
        ("[notify.dm]\nmention = false\n", "mentioned you"),
        ("[notify.activity]\ncreated = false\n", "New task"),
    ];
    for (switch, silenced) in cases {
        let env = Env::start(switch).await;
        let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
        env.sim.update_ticket(
            &t.id,
            TicketPatch {
                status: Some("On Hold".into()),
                ..Default::default()
            },
            Some(KIM),
        );
        env.sim.update_ticket(
            &t.id,
            TicketPatch {
                status: Some("Closed".into()),
                ..Default::default()
            },
            Some(KIM),
        );
        env.sim.update_ticket(
            &t.id,
            TicketPatch {
                status: Some("Open".into()),
                ..Default::default()
            },
            Some(KIM),
        );
        env.sim.update_ticket(
            &t.id,
            TicketPatch {
                is_escalated: Some(true),
                ..Default::default()
            },
            Some(KIM),
        );
        env.sim.update_ticket(
            &t.id,
            TicketPatch {
                department_id: Some(BILLING.into()),
                ..Default::default()
            },
            Some(KIM),
        );
        let c = env
            .sim
            .add_comment(&t.id, KIM, "zsu[@user:55667789]zsu look", true)
            .unwrap();
        env.sim.edit_comment(&c.id, "edited");
        env.sim.update_ticket(
            &t.id,
            TicketPatch {
                assignee_id: Some(Some(SATO.into())),
                ..Default::default()
            },
            Some(KIM),
        );
        env.sim.create_task(SimTask {
            subject: "Call".into(),
            web_url: String::new(),
            ..task(SATO, KIM)
        });
        let all: Vec<String> = env
            .settle()
            .await
            .iter()
            .map(|m| m.message["text"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(
            !all.iter().any(|t| t.contains(silenced)),
            "{switch}: {silenced} still announced in {all:#?}"
        );
        // Everything else still speaks.
        for other in [
            "New ticket",
            "Ticket closed",
            "New task",
            "New comment",
            "Assignee:",
            "Moved from",
        ] {
            if other != silenced {
                assert!(
                    all.iter().any(|t| t.contains(other)),
                    "{switch}: {other} missing from {all:#?}"
                );
            }
        }
    }
}

#[actix_rt::test]
async fn a_rating_for_an_agent_without_a_cliq_user_goes_nowhere() {
    let env = Env::start("").await;
    let t = env
        .sim
        .create_ticket(new_ticket("x", SUPPORT, Some(NOUSER)));
    env.settle().await;
    let before = env.sim.cliq_messages().len();
    env.clock.advance(chrono::Duration::minutes(1));
    let now = env.clock.now();
    env.sim
        .with(|st| st.add_rating(&t.id, "bad", Some("private feedback"), now));
    deskcliq::pipeline::poll_once(&env.app().router)
        .await
        .unwrap();
    assert_eq!(env.settle().await.len(), before);
}

#[actix_rt::test]
async fn an_edit_that_adds_a_mention_dms_only_the_newly_mentioned() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.settle().await;
    let c = env
        .sim
        .add_comment(&t.id, KIM, "zsu[@user:55667789]zsu please look", false)
        .unwrap();
    let before = env.settle().await.len();
    env.sim
        .edit_comment(
            &c.id,
            "zsu[@user:55667789]zsu please look, zsu[@user:55667788]zsu too",
        )
        .unwrap();
    let new: Vec<_> = env.settle().await[before..].to_vec();
    let targets: Vec<CliqTarget> = new.iter().map(|m| m.target.clone()).collect();
    // The edit itself to the channel (unassigned); a DM only to the one newly named.
    assert_eq!(targets.len(), 2, "{new:?}");
    assert!(targets.contains(&channel("support")), "{new:?}");
    assert!(targets.contains(&dm(SATO_ZUID)), "{new:?}");
    let mention = new.iter().find(|m| m.target == dm(SATO_ZUID)).unwrap();
    assert!(
        mention.message["text"]
            .as_str()
            .unwrap()
            .contains("Alex Kim mentioned you"),
        "{mention:?}"
    );
    // Edited again without a new name: no DM at all.
    let before = env.sim.cliq_messages().len();
    env.sim
        .edit_comment(&c.id, "zsu[@user:55667789]zsu zsu[@user:55667788]zsu done")
        .unwrap();
    let new: Vec<_> = env.settle().await[before..].to_vec();
    assert!(
        new.iter()
            .all(|m| matches!(m.target, CliqTarget::Channel(_))),
        "{new:?}"
    );
}

#[actix_rt::test]
async fn an_owner_newly_mentioned_in_an_edit_gets_one_dm() {
    for (switches, expected) in [
        ("", "Comment edited"),
        (
            "[notify.ticket]\ncomment_edited = false\n",
            "Alex Kim mentioned you",
        ),
    ] {
        let env = Env::start(switches).await;
        let t = env.sim.create_ticket(new_ticket("x", SUPPORT, Some(SATO)));
        env.settle().await;
        let c = env
            .sim
            .add_comment(&t.id, KIM, "first draft", false)
            .unwrap();
        let before = env.settle().await.len();
        env.sim
            .edit_comment(&c.id, "zsu[@user:55667788]zsu please look")
            .unwrap();
        let new: Vec<_> = env.settle().await[before..].to_vec();
        assert_eq!(
            new.iter().map(|m| m.target.clone()).collect::<Vec<_>>(),
            [dm(SATO_ZUID)],
            "{switches}: {new:?}"
        );
        let text = new[0].message["text"].as_str().unwrap();
        assert!(text.contains(expected), "{switches}: {text}");
    }
}

#[actix_rt::test]
async fn a_mention_of_someone_not_an_agent_dms_nobody() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.settle().await;
    env.sim
        .add_comment(&t.id, KIM, "zsu[@user:99999999]zsu hello", true)
        .unwrap();
    let msgs = env.settle().await;
    assert!(
        msgs.iter()
            .all(|m| matches!(m.target, CliqTarget::Channel(_))),
        "{msgs:?}"
    );
}

#[actix_rt::test]
async fn a_mention_by_a_commenter_deskcliq_cannot_name_says_someone_mentioned_you() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.settle().await;
    // No commenter at all, and one the agent directory does not know (yet).
    for author in ["", "1892000000056099"] {
        let before = env.sim.cliq_messages().len();
        env.sim
            .add_comment(&t.id, author, "zsu[@user:55667790]zsu hello", true)
            .unwrap();
        let new: Vec<_> = env.settle().await[before..].to_vec();
        let mention = new
            .iter()
            .find(|m| m.target == dm("55667790"))
            .unwrap_or_else(|| panic!("{author}: {new:?}"));
        let headline = mention.message["text"].as_str().unwrap();
        assert_eq!(headline, "*Someone mentioned you*", "{author}");
    }
}

#[actix_rt::test]
async fn a_mention_by_a_commenter_deskcliq_cannot_name_reads_naturally_in_japanese() {
    let mut env = Env::start("").await;
    let mut cfg = (*env.app().config()).clone();
    cfg.org.locale = deskcliq::config::Locale::Ja;
    env.app.as_mut().unwrap().apply(cfg);
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.settle().await;
    let before = env.sim.cliq_messages().len();
    env.sim
        .add_comment(&t.id, "", "zsu[@user:55667790]zsu hello", true)
        .unwrap();
    let new: Vec<_> = env.settle().await[before..].to_vec();
    let mention = new
        .iter()
        .find(|m| m.target == dm("55667790"))
        .unwrap_or_else(|| panic!("{new:?}"));
    // Not 「不明なユーザー さんが…」: an honorific after "unknown user".
    assert_eq!(
        mention.message["text"],
        "*コメントであなたがメンションされました*"
    );
}

#[actix_rt::test]
async fn a_web_url_outside_the_portal_gets_no_button() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(new_ticket("x", SUPPORT, None));
    env.settle().await;
    env.sim.with(|st| {
        let n: u64 = t.id.parse().unwrap();
        st.desk.tickets.get_mut(&n).unwrap().web_url = "https://evil.example/phish".into();
    });
    env.sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    let last = env.settle().await.pop().unwrap();
    assert!(
        !last.message.to_string().contains("evil.example"),
        "{}",
        last.message
    );
}

#[actix_rt::test]
async fn during_a_flood_of_deliveries_routing_waits_between_batches_but_never_stops() {
    use deskcliq::notify::event::{InboxEvent, parse_body};
    use deskcliq::pipeline::{INGEST_BUSY, INGEST_YIELD_MAX};
    use deskcliq::store::TreeName;
    use std::sync::atomic::Ordering;
    let env = Env::start("").await;
    let router = env.app().router.clone();
    // A flood is being taken in, and stays so for the whole test.
    router.ingest_in_flight.store(INGEST_BUSY, Ordering::SeqCst);
    let store = env.app().store.clone();
    let inbox = store.tree::<u64, InboxEvent>(TreeName::Inbox);
    // Three batches of the router's 64.
    let events = 2 * 64 + 1;
    for n in 0..events {
        let body = serde_json::json!([{
            "eventType": "Ticket_Add",
            "orgId": deskcliq::sim::DESK_ORG_ID,
            "eventTime": env.clock.now().timestamp_millis().to_string(),
            "payload": {
                "id": format!("18920000009{n:05}"), "ticketNumber": format!("{}", 9000 + n),
                "subject": format!("flood {n}"), "departmentId": SUPPORT, "status": "Open",
                "statusType": "Open", "modifiedTime": "2026-11-25T01:00:00.000Z",
                "createdTime": "2026-11-25T01:00:00.000Z"
            }
        }]);
        let event = parse_body(body.to_string().as_bytes()).unwrap().remove(0);
        inbox.insert(&store.next_id().unwrap(), &event).unwrap();
    }
    router.wake.notify_one();
    let msgs = env.settle().await;
    // Every event reached Cliq although the flood never ebbed...
    let text = msgs
        .iter()
        .map(|m| m.message.to_string())
        .collect::<String>();
    for n in 0..events {
        assert!(
            text.contains(&format!("#{}", 9000 + n)),
            "ticket {n} missing"
        );
    }
    // ...and routing waited, after each batch, as long as it may for the flood to be taken in.
    let metrics = env.app().metrics.render();
    let waited: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("deskcliq_router_yield_seconds_total "))
        .expect("metric")
        .parse()
        .unwrap();
    let least = (3 * INGEST_YIELD_MAX).as_secs_f64();
    assert!(
        waited >= least,
        "routing waited {waited} s, at least {least} s expected"
    );
}

#[actix_rt::test]
async fn without_a_flood_routing_never_waits() {
    let env = Env::start("").await;
    for n in 0..3 {
        env.sim
            .create_ticket(new_ticket(&format!("calm {n}"), SUPPORT, None));
    }
    assert!(!env.settle().await.is_empty());
    let metrics = env.app().metrics.render();
    assert!(
        metrics.contains("deskcliq_router_yield_seconds_total 0\n"),
        "{metrics}"
    );
}
