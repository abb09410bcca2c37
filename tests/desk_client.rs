//! The Desk client against the simulator, and its lenient decoding of Zoho's samples.

mod common;

use std::time::Duration;

use chrono::Duration as Span;
use common::sim::{Receiver, Zoho, start_time};
use deskcliq::desk::*;
use deskcliq::sim::{Fault, FaultKind, NewTicket, TicketPatch};

const SUPPORT: &str = "1892000000082069";
const BILLING: &str = "1892000000082070";
const SATO: &str = "1892000000056007";
const SUZUKI: &str = "1892000000056008";

fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/desk/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ticket(
    z: &Zoho,
    subject: &str,
    dep: &str,
    assignee: Option<&str>,
    due_in_min: Option<i64>,
    email: &str,
) -> String {
    z.sim
        .create_ticket(NewTicket {
            subject: subject.into(),
            department_id: dep.into(),
            contact_email: email.into(),
            assignee_id: assignee.map(str::to_string),
            due_date: due_in_min.map(|m| z.clock.now() + Span::minutes(m)),
            ..Default::default()
        })
        .id
}

#[actix_rt::test]
async fn list_tickets_filters_and_sorts_by_due_date() {
    let z = Zoho::start().await;
    let desk = z.desk(4);
    assert!(
        desk.list_tickets(&TicketQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
    let late = ticket(&z, "late", SUPPORT, Some(SATO), Some(120), "a@example.com");
    let soon = ticket(&z, "soon", SUPPORT, None, Some(30), "b@example.com");
    let _other = ticket(&z, "billing", BILLING, None, Some(10), "c@example.com");
    let q = TicketQuery {
        limit: 10,
        department_id: Some(SUPPORT.into()),
        sort_by: Some(TicketSort::DueDate),
        include: vec![Include::Assignee],
        ..Default::default()
    };
    let ids: Vec<String> = desk
        .list_tickets(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [soon.clone(), late.clone()]);
    let unassigned = TicketQuery {
        limit: 10,
        department_id: Some(SUPPORT.into()),
        assignee: vec![AssigneeFilter::Unassigned],
        ..Default::default()
    };
    let ids: Vec<String> = desk
        .list_tickets(&unassigned)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [soon]);
}

#[actix_rt::test]
async fn get_ticket_embeds_what_include_asks_for() {
    let z = Zoho::start().await;
    let id = ticket(
        &z,
        "プリンターが燃えています",
        SUPPORT,
        Some(SATO),
        Some(60),
        "cust@example.jp",
    );
    let t = z
        .desk(2)
        .get_ticket(&id, &[Include::Assignee, Include::Departments])
        .await
        .unwrap();
    assert_eq!(t.subject.as_deref(), Some("プリンターが燃えています"));
    assert_eq!(t.status_type, StatusType::Open);
    assert_eq!(
        t.assignee.unwrap().email.as_deref(),
        Some("sato@example.co.jp")
    );
    assert_eq!(t.department.unwrap().name.as_deref(), Some("Support"));
    assert_eq!(t.due_date, Some(start_time() + Span::minutes(60)));
    let missing = z.desk(2).get_ticket("1", &[]).await.unwrap_err();
    assert_eq!(missing.code(), Some("URL_NOT_FOUND"));
}

#[actix_rt::test]
async fn search_by_number_email_and_time_range() {
    let z = Zoho::start().await;
    let desk = z.desk(4);
    let first = ticket(&z, "one", SUPPORT, None, None, "Repeat@Example.com");
    z.clock.advance(Span::minutes(1));
    let second = ticket(&z, "two", SUPPORT, None, None, "repeat@example.com");
    z.clock.advance(Span::minutes(1));
    let _other = ticket(&z, "three", SUPPORT, None, None, "other@example.com");
    let number = z
        .sim
        .with(|st| st.ticket(&first).unwrap().ticket_number.clone());
    let r = desk
        .search_tickets(&TicketSearch {
            ticket_number: Some(number),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(r.tickets[0].id, first);
    let r = desk
        .search_tickets(&TicketSearch {
            email: Some("repeat@example.com".into()),
            sort_by: Some(SearchSort::CreatedTime),
            descending: true,
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<String> = r.tickets.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, [second.clone(), first.clone()]);
    assert_eq!(r.count, 2);
    let r = desk
        .search_tickets(&TicketSearch {
            created: Some((
                start_time() + Span::seconds(30),
                start_time() + Span::seconds(90),
            )),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(r.tickets.len(), 1);
    assert_eq!(r.tickets[0].id, second);
    // Nothing found: Desk's 204.
    let none = desk
        .search_tickets(&TicketSearch {
            email: Some("nobody@example.com".into()),
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(none, SearchResult::default());
}

#[actix_rt::test]
async fn update_ticket_and_its_validation_error() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    let id = ticket(&z, "x", SUPPORT, None, Some(60), "a@example.com");
    let t = desk
        .update_ticket(
            &id,
            &TicketUpdate {
                status: Some("On Hold".into()),
                assignee_id: Some(Some(SUZUKI.into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(t.status_type, StatusType::OnHold);
    assert_eq!(t.assignee_id.as_deref(), Some(SUZUKI));
    let err = desk
        .update_ticket(
            &id,
            &TicketUpdate {
                assignee_id: Some(Some("42".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    match err {
        DeskError::Api {
            status,
            code,
            fields,
            ..
        } => {
            assert_eq!((status, code.as_str()), (422, "INVALID_DATA"));
            assert_eq!(fields, ["/assigneeId"]);
        }
        other => panic!("{other}"),
    }
    // Unassigning sends null.
    let t = desk
        .update_ticket(
            &id,
            &TicketUpdate {
                assignee_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(t.assignee_id, None);
}

#[actix_rt::test]
async fn send_reply_needs_a_configured_from_address() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    let id = ticket(&z, "x", SUPPORT, None, None, "cust@example.com");
    let reply = Reply {
        channel: "EMAIL".into(),
        content: "ご連絡ありがとうございます".into(),
        content_type: ContentType::PlainText,
        from_email_address: "support@example.zohodesk.jp".into(),
        to: None,
    };
    let thread = desk.send_reply(&id, &reply).await.unwrap();
    assert_eq!(thread.direction.as_deref(), Some("out"));
    let bad = Reply {
        channel: String::new(),
        from_email_address: "me@elsewhere.com".into(),
        ..reply
    };
    let err = desk.send_reply(&id, &bad).await.unwrap_err();
    assert!(
        matches!(&err, DeskError::Api { fields, .. } if fields == &["/fromEmailAddress"]),
        "{err}"
    );
}

#[actix_rt::test]
async fn comments_are_added_and_listed() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    let id = ticket(&z, "x", SUPPORT, None, None, "cust@example.com");
    let c = desk
        .add_comment(
            &id,
            &NewComment {
                content: "zsu[@user:55667789]zsu 見てください".into(),
                is_public: false,
                content_type: ContentType::PlainText,
            },
        )
        .await
        .unwrap();
    assert!(!c.is_public);
    let all = desk.list_comments(&id, 0, 50).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].content, "zsu[@user:55667789]zsu 見てください");
}

#[actix_rt::test]
async fn agents_departments_and_teams() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    let agents = desk.all_agents().await.unwrap();
    assert_eq!(agents.len(), 3);
    assert_eq!(agents[0].email.as_deref(), Some("sato@example.co.jp"));
    assert_eq!(agents[0].zuid.as_deref(), Some("55667788"));
    let page = desk.list_agents(1, 1).await.unwrap();
    assert_eq!(page[0].id, SUZUKI);
    let by_ids = desk.agents_by_ids(&[SUZUKI.to_string()]).await.unwrap();
    assert_eq!(by_ids[0].email.as_deref(), Some("suzuki@example.co.jp"));
    let deps = desk.list_departments(true).await.unwrap();
    assert_eq!(
        deps.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["Support", "Billing"]
    );
    let d = desk.get_department(SUPPORT).await.unwrap();
    assert!(d.associated_agent_ids.contains(&SATO.to_string()));
    let teams = desk.list_teams().await.unwrap();
    assert_eq!(teams[0].name, "Tier 2");
    assert_eq!(desk.department_teams(BILLING).await.unwrap(), vec![]);
}

#[actix_rt::test]
async fn counts_by_filter_field_and_agent() {
    let z = Zoho::start().await;
    let desk = z.desk(4);
    let a = ticket(&z, "a", SUPPORT, Some(SATO), Some(-30), "x@example.com");
    ticket(&z, "b", SUPPORT, Some(SATO), Some(30), "x@example.com");
    ticket(&z, "c", BILLING, None, None, "x@example.com");
    z.sim.update_ticket(
        &a,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
        None,
    );
    let support = CountQuery {
        department_id: Some(SUPPORT.into()),
        ..Default::default()
    };
    assert_eq!(desk.tickets_count(&support).await.unwrap(), 2);
    assert_eq!(desk.tickets_count(&CountQuery::default()).await.unwrap(), 3);
    // An answer without a count is no figure at all, not zero.
    z.sim.inject(Fault {
        path_contains: "/ticketsCount".into(),
        kind: FaultKind::Answer {
            status: 200,
            body: r#"{"message":"no count here"}"#.into(),
        },
        times: 1,
    });
    assert!(desk.tickets_count(&support).await.is_err());
    let by = desk
        .tickets_count_by_field(&["statusType", "overDue"], &CountQuery::default())
        .await
        .unwrap();
    assert_eq!(by.get("statusType", Some("Open")), 2);
    assert_eq!(by.get("statusType", Some("On Hold")), 1);
    assert_eq!(by.get("overDue", None), 1);
    let per_agent = desk
        .agents_tickets_count(&[SATO.to_string()], None)
        .await
        .unwrap();
    assert_eq!(per_agent[0].agent_id, SATO);
    assert_eq!(
        (per_agent[0].open_count, per_agent[0].onhold_count),
        (Some(1), Some(1))
    );
    assert_eq!(per_agent[0].due_in_1hr_count, Some(1));
}

#[actix_rt::test]
async fn customer_happiness_ratings_are_listed() {
    let z = Zoho::start().await;
    let id = ticket(&z, "a", SUPPORT, Some(SATO), None, "x@example.com");
    let now = z.clock.now();
    z.sim.with(|st| {
        st.add_rating(&id, "good", Some("速い対応"), now);
        st.add_rating(&id, "bad", None, now);
    });
    let ratings = z
        .desk(2)
        .customer_happiness(&HappinessQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ratings.len(), 2);
    assert_eq!(ratings[0].rating, RatingValue::Good);
    assert_eq!(ratings[0].agent_id.as_deref(), Some(SATO));
    assert_eq!(ratings[1].rating, RatingValue::Bad);
    let other = HappinessQuery {
        department_id: Some(BILLING.into()),
        limit: 50,
        ..Default::default()
    };
    assert!(
        z.desk(2)
            .customer_happiness(&other)
            .await
            .unwrap()
            .is_empty()
    );
}

#[actix_rt::test]
async fn tasks_are_listed_with_modified_by_as_an_object() {
    let z = Zoho::start().await;
    let id = ticket(&z, "a", SUPPORT, Some(SATO), None, "x@example.com");
    let ms = z.clock.now().timestamp_millis();
    z.sim.with(|st| {
        st.desk.tasks.push(deskcliq::sim::SimTask {
            id: "900".into(),
            subject: "Call back".into(),
            department_id: SUPPORT.into(),
            ticket_id: Some(id.clone()),
            owner_id: SATO.into(),
            creator_id: SUZUKI.into(),
            status: "Not Started".into(),
            status_type: "Open".into(),
            due_date: Some(ms + 3_600_000),
            completed_time: None,
            reminder: vec![],
            created_time: ms,
            modified_time: ms,
            web_url: "https://desk.zoho.jp/x".into(),
            modified_by: serde_json::json!({"id": SUZUKI, "firstName": "Taro", "lastName": "Suzuki"}),
        })
    });
    let desk = z.desk(2);
    let tasks = desk.ticket_tasks(&id).await.unwrap();
    assert_eq!(tasks[0].owner_id.as_deref(), Some(SATO));
    assert_eq!(tasks[0].modified_by.as_ref().unwrap().id, SUZUKI);
    assert_eq!(
        tasks[0].due_date.unwrap().timestamp_millis(),
        ms + 3_600_000
    );
    assert_eq!(desk.list_tasks(Some(BILLING), 0, 10).await.unwrap(), vec![]);
}

#[actix_rt::test]
async fn webhooks_are_created_listed_updated_and_deleted() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    let rx = Receiver::start(200).await;
    assert!(desk.list_webhooks().await.unwrap().is_empty());
    let hook = NewWebhook {
        name: "deskcliq".into(),
        url: rx.url.clone(),
        subscriptions: serde_json::json!({"Ticket_Add": null, "Ticket_Update": {"includePrevState": true}}),
        include_automation: true,
        ignore_source_id: None,
        is_enabled: None,
    };
    let w = desk.create_webhook(&hook).await.unwrap();
    assert!(
        rx.gets.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "no validation GET"
    );
    assert_eq!(desk.list_webhooks().await.unwrap()[0].id, w.id);
    let renamed = NewWebhook {
        name: "deskcliq-2".into(),
        ..hook
    };
    assert_eq!(
        desk.update_webhook(&w.id, &renamed, false)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("deskcliq-2")
    );
    assert_eq!(desk.get_webhook(&w.id).await.unwrap().url, rx.url);
    desk.delete_webhook(&w.id).await.unwrap();
    assert!(desk.list_webhooks().await.unwrap().is_empty());
    // A URL that does not answer the validation with 200 is refused.
    let bad = Receiver::start(404).await;
    let err = desk
        .create_webhook(&NewWebhook {
            url: bad.url.clone(),
            ..renamed
        })
        .await
        .unwrap_err();
    assert!(matches!(&err, DeskError::Api { status: 422, .. }), "{err}");
}

#[actix_rt::test]
async fn a_429_is_retried_after_retry_after() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    z.sim.inject(Fault {
        path_contains: "/departments".into(),
        kind: FaultKind::TooManyRequests { retry_after: 1 },
        times: 1,
    });
    let started = std::time::Instant::now();
    assert!(!desk.list_departments(false).await.unwrap().is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After not honoured"
    );
    assert_eq!(
        z.metrics
            .desk_requests_total
            .with_label_values(&["throttled"])
            .get(),
        1
    );
}

#[actix_rt::test]
async fn a_long_retry_after_is_an_error_not_a_sleep() {
    let z = Zoho::start().await;
    z.sim.inject(Fault {
        path_contains: "/departments".into(),
        kind: FaultKind::TooManyRequests { retry_after: 3600 },
        times: 1,
    });
    let err = z.desk(2).list_departments(false).await.unwrap_err();
    assert!(
        matches!(err, DeskError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3600))
    );
}

#[actix_rt::test]
async fn server_errors_are_retried_for_reads_only() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    z.sim.inject(Fault {
        path_contains: "/agents".into(),
        kind: FaultKind::Status(500),
        times: 1,
    });
    assert_eq!(desk.list_agents(0, 10).await.unwrap().len(), 3);
    let id = ticket(&z, "x", SUPPORT, None, None, "a@example.com");
    z.sim.inject(Fault {
        path_contains: "/tickets/".into(),
        kind: FaultKind::Status(500),
        times: 1,
    });
    let err = desk
        .update_ticket(
            &id,
            &TicketUpdate {
                status: Some("Closed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("INTERNAL_SERVER_ERROR"));
}

#[actix_rt::test]
async fn at_most_desk_concurrency_calls_are_in_flight() {
    let z = Zoho::start().await;
    z.sim.set_latency(Duration::from_millis(20));
    let desk = z.desk(5);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let d = desk.clone();
        set.spawn(async move {
            d.list_departments(false)
                .await
                .map(|v| v.len())
                .map_err(|e| e.to_string())
        });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap(), 2);
    }
    // Five at a time: never more, and (with 100 waiting) not fewer either.
    assert_eq!(z.sim.desk_max_in_flight(), 5);
}

#[actix_rt::test]
async fn every_credit_spent_is_counted_and_kept_per_day() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    let id = ticket(&z, "x", SUPPORT, None, None, "a@example.com");
    desk.get_ticket(&id, &[]).await.unwrap(); // 1
    desk.list_departments(false).await.unwrap(); // 3
    desk.tickets_count(&CountQuery::default()).await.unwrap(); // 3
    let used = z.metrics.desk_credits_used_total.get();
    assert_eq!(used, 7);
    assert_eq!(used, z.sim.desk_credits_used());
    assert_eq!(desk.credits_on(z.clock.now().date_naive()), 7);
}

/// What a recording Desk saw of each request: method and path, query string, `orgId` header.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Option<String>)>>>;

/// A Desk on loopback that records every request and answers each with `body` (200), or
/// with an empty list (204) when there is none.
async fn recording_desk(
    body: Option<&'static str>,
) -> (String, Seen, actix_web::dev::ServerHandle) {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let seen: Seen = Default::default();
    let s = seen.clone();
    let server = HttpServer::new(move || {
        let s = s.clone();
        App::new().default_service(web::to(move |req: HttpRequest| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push((
                    format!("{} {}", req.method(), req.path()),
                    req.query_string().to_string(),
                    req.headers()
                        .get("orgId")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                ));
                match body {
                    Some(b) => HttpResponse::Ok().content_type("application/json").body(b),
                    None => HttpResponse::NoContent().finish(),
                }
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (format!("http://{addr}"), seen, handle)
}

#[actix_rt::test]
async fn every_desk_call_names_the_org_in_its_header_and_its_query() {
    // Desk's API reference puts `orgId` in a header, its OpenAPI files (Common.json) in the
    // query: a Desk built from either must find it.
    let z = Zoho::start().await;
    let (url, seen, handle) = recording_desk(None).await;
    let org = deskcliq::sim::DESK_ORG_ID;
    let desk = DeskClient::new(
        &url,
        org,
        2,
        z.tokens.clone(),
        z.metrics.clone(),
        z.store.clone(),
        z.clock.clone(),
    );
    assert!(desk.list_departments(false).await.unwrap().is_empty());
    let found = desk
        .search_tickets(&TicketSearch {
            ticket_number: Some("115".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(found.tickets.is_empty());
    assert!(desk.list_webhooks().await.unwrap().is_empty());
    desk.delete_webhook("77").await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for (call, query, header) in &seen {
        assert_eq!(header.as_deref(), Some(org), "{call}");
        assert!(
            query.split('&').any(|kv| kv == format!("orgId={org}")),
            "{call}?{query}"
        );
    }
    handle.stop(false).await;
}

#[actix_rt::test]
async fn a_list_whose_data_is_null_or_holds_nulls_is_read_as_what_it_holds() {
    // Webhook.json and TicketComment.json type their lists as array-or-null, with items
    // object-or-null: an answer of that shape is an empty list, not an error.
    let z = Zoho::start().await;
    let client = |url: &str| {
        DeskClient::new(
            url,
            deskcliq::sim::DESK_ORG_ID,
            2,
            z.tokens.clone(),
            z.metrics.clone(),
            z.store.clone(),
            z.clock.clone(),
        )
    };
    let (url, _, handle) = recording_desk(Some(r#"{"data":null}"#)).await;
    let desk = client(&url);
    assert!(desk.list_webhooks().await.unwrap().is_empty());
    assert!(desk.list_comments("1", 0, 10).await.unwrap().is_empty());
    let found = desk.search_tickets(&TicketSearch::default()).await.unwrap();
    assert_eq!((found.tickets.len(), found.count), (0, 0));
    handle.stop(false).await;
    let (url, _, handle) =
        recording_desk(Some(r#"{"data":[null,{"id":"7","content":"hi"}]}"#)).await;
    let comments = client(&url).list_comments("1", 0, 10).await.unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].id, "7");
    handle.stop(false).await;
}

#[actix_rt::test]
async fn listing_every_agent_ends_when_desk_repeats_a_full_page() {
    // A Desk that does not move on with `from` (it answers the same 200 agents to every
    // page) must not be asked forever: the walk stops at the first page with nothing new.
    let z = Zoho::start().await;
    let agents: Vec<String> = (0..200)
        .map(|i| format!(r#"{{"id":"{}","emailId":"a{i}@example.com"}}"#, 1000 + i))
        .collect();
    let body: &'static str = Box::leak(format!(r#"{{"data":[{}]}}"#, agents.join(",")).into());
    let (url, seen, handle) = recording_desk(Some(body)).await;
    let desk = DeskClient::new(
        &url,
        deskcliq::sim::DESK_ORG_ID,
        2,
        z.tokens.clone(),
        z.metrics.clone(),
        z.store.clone(),
        z.clock.clone(),
    );
    let all = tokio::time::timeout(Duration::from_secs(30), desk.all_agents())
        .await
        .expect("the walk ends")
        .unwrap();
    assert_eq!(all.len(), 200);
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].1.contains("from=200"), "{calls:?}");
    handle.stop(false).await;
}

#[test]
fn zoho_sample_ticket_decodes_leniently() {
    let t: Ticket = serde_json::from_value(fixture("ticket_epoch_and_strings.json")).unwrap();
    assert_eq!(t.id, "1892000000042034");
    assert_eq!(t.thread_count, Some(121));
    assert_eq!(t.comment_count, Some(1));
    assert!(!t.is_over_due && t.is_escalated);
    assert_eq!(t.modified_by.as_deref(), Some("1892000000042001"));
    assert_eq!(
        t.created_time.unwrap().timestamp_millis(),
        1_383_564_067_000
    );
    assert_eq!(
        t.modified_time.unwrap().timestamp_millis(),
        1_466_514_974_000
    );
    assert_eq!(t.team_id, None);
    assert_eq!(
        t.assignee.unwrap().email.as_deref(),
        Some("jack@zylker.com")
    );
}

#[test]
fn webhook_sample_payload_and_prev_state_decode() {
    let events = fixture("ticket_update_event.json");
    let e = &events[0];
    let payload: Ticket = serde_json::from_value(e["payload"].clone()).unwrap();
    let prev: Ticket = serde_json::from_value(e["prevState"].clone()).unwrap();
    assert_eq!(payload.ticket_number, "1161");
    assert_eq!(prev.status.as_deref(), Some("On Hold"));
    assert_eq!(prev.status_type, StatusType::Open);
    assert_eq!(payload.closed_time, None);
}

#[test]
fn search_agents_counts_and_task_samples_decode() {
    let s = fixture("search_result.json");
    let t: Vec<Ticket> = serde_json::from_value(s["data"].clone()).unwrap();
    let a = t[0].assignee.as_ref().unwrap();
    assert_eq!(
        (a.email.as_deref(), a.zuid.as_deref()),
        (Some("jack@zylker.com"), Some("1234567890"))
    );
    let agents: Vec<Agent> =
        serde_json::from_value(fixture("agents.json")["data"].clone()).unwrap();
    assert_eq!(
        agents[0].associated_department_ids,
        ["1892000000006907", "1892000000006908"]
    );
    assert_eq!(agents[1].id, "1892000000056010");
    assert_eq!(agents[1].zuid, None);
    assert_eq!(agents[1].status.as_deref(), Some("ACTIVE"));
    assert!(!agents[1].is_confirmed);
    let counts = FieldCounts::from_json(&fixture("count_by_field.json"));
    assert_eq!(counts.get("statusType", Some("Open")), 13);
    assert_eq!(counts.get("statusType", Some("On Hold")), 2);
    assert_eq!(counts.get("overDue", None), 2);
    assert_eq!(counts.get("escalated", None), 0);
    let task: Task = serde_json::from_value(fixture("task.json")).unwrap();
    assert_eq!(task.due_date.unwrap().timestamp_millis(), 1_556_211_131_000);
    assert_eq!(
        task.modified_by.unwrap().first_name.as_deref(),
        Some("Jade")
    );
    assert_eq!(task.completed_time, None);
}
