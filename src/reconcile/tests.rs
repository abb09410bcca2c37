use super::*;
use chrono::TimeZone as _;

#[test]
fn an_item_older_than_the_stored_ticket_is_not_applied() {
    let at = |m: u32| Utc.with_ymd_and_hms(2026, 11, 25, 10, m, 0).unwrap();
    let stored = TicketSnapshot {
        modified_time: Some(at(10)),
        ..Default::default()
    };
    let item = |m: Option<u32>| Ticket {
        modified_time: m.map(at),
        ..Default::default()
    };
    assert!(older_than(Some(&stored), &item(Some(9))));
    assert!(!older_than(Some(&stored), &item(Some(10))));
    assert!(!older_than(Some(&stored), &item(Some(11))));
    assert!(!older_than(Some(&stored), &item(None)));
    assert!(!older_than(None, &item(Some(9))));
}

#[test]
fn a_ticket_whose_status_type_desk_left_null_keeps_what_its_status_says() {
    // Zoho's list and search schemas allow `"statusType": null`: that is not "Open".
    let item = |json: &str| -> Ticket { serde_json::from_str(json).expect("ticket") };
    let on_hold = || TicketSnapshot {
        id: "1".into(),
        status: "On Hold".into(),
        status_type: "On Hold".into(),
        ..Default::default()
    };
    // A custom status and no type: what is known stays (no SLA alerts for On Hold).
    let mut s = on_hold();
    apply(
        &mut s,
        &item(r#"{"id":"1","status":"Waiting on vendor","statusType":null}"#),
    );
    assert_eq!(s.status_type, "On Hold");
    // A system status name says it.
    let mut s = on_hold();
    apply(
        &mut s,
        &item(r#"{"id":"1","status":"Closed","statusType":null}"#),
    );
    assert_eq!(s.status_type, "Closed");
    // A type given still wins, and a ticket never seen is taken as open.
    let mut s = on_hold();
    apply(
        &mut s,
        &item(r#"{"id":"1","status":"Open","statusType":"Open"}"#),
    );
    assert_eq!(s.status_type, "Open");
    let mut s = TicketSnapshot::default();
    apply(
        &mut s,
        &item(r#"{"id":"2","status":"Custom","statusType":null}"#),
    );
    assert_eq!(s.status_type, "Open");
}
