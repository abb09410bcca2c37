//! The catalogs: both languages, every key, the same placeholders.

use super::*;

/// Every string of a catalog, by key. The patterns name every field (no `..`): a key added
/// to a catalog does not compile until it is listed here, so parity covers it too.
fn strings(t: &'static Texts) -> Vec<(String, &'static str)> {
    let Texts {
        ticket_created,
        ticket_closed,
        ticket_reopened,
        status_changed,
        owner_changed,
        department_changed,
        escalated,
        comment_added,
        comment_added_private,
        comment_edited,
        mentioned,
        rating_received,
        due_in,
        digest_title,
        digest_text,
        digest_all,
        stat_created,
        stat_closed,
        stat_ratings,
        stat_open,
        stat_on_hold,
        stat_overdue,
        stat_unassigned,
        stat_top,
        stat_agent,
        stat_count,
        unavailable,
        nobody_closed,
        good_share,
        reminder,
        missed_title,
        missed_text,
        missed_text_one,
        activity_created,
        activity_completed,
        by,
        unassigned,
        team_any,
        mentioned_unknown,
        task,
        call,
        event,
        rating_good,
        rating_okay,
        rating_bad,
        label_department,
        label_status,
        label_priority,
        label_due,
        label_assignee,
        label_change,
        label_ticket,
        label_feedback,
        button_status,
        button_assign,
        button_reply,
        button_comment,
        button_open,
        summary_title,
        summary_text,
        cmd,
        act,
    } = *t;
    let mut v: Vec<(String, &'static str)> = vec![
        ("ticket_created".into(), ticket_created),
        ("ticket_closed".into(), ticket_closed),
        ("ticket_reopened".into(), ticket_reopened),
        ("status_changed".into(), status_changed),
        ("owner_changed".into(), owner_changed),
        ("department_changed".into(), department_changed),
        ("escalated".into(), escalated),
        ("comment_added".into(), comment_added),
        ("comment_added_private".into(), comment_added_private),
        ("comment_edited".into(), comment_edited),
        ("mentioned".into(), mentioned),
        ("rating_received".into(), rating_received),
        ("due_in".into(), due_in),
        ("digest_title".into(), digest_title),
        ("digest_text".into(), digest_text),
        ("digest_all".into(), digest_all),
        ("stat_created".into(), stat_created),
        ("stat_closed".into(), stat_closed),
        ("stat_ratings".into(), stat_ratings),
        ("stat_open".into(), stat_open),
        ("stat_on_hold".into(), stat_on_hold),
        ("stat_overdue".into(), stat_overdue),
        ("stat_unassigned".into(), stat_unassigned),
        ("stat_top".into(), stat_top),
        ("stat_agent".into(), stat_agent),
        ("stat_count".into(), stat_count),
        ("unavailable".into(), unavailable),
        ("nobody_closed".into(), nobody_closed),
        ("good_share".into(), good_share),
        ("reminder".into(), reminder),
        ("missed_title".into(), missed_title),
        ("missed_text".into(), missed_text),
        ("missed_text_one".into(), missed_text_one),
        ("activity_created".into(), activity_created),
        ("activity_completed".into(), activity_completed),
        ("by".into(), by),
        ("unassigned".into(), unassigned),
        ("team_any".into(), team_any),
        ("mentioned_unknown".into(), mentioned_unknown),
        ("task".into(), task),
        ("call".into(), call),
        ("event".into(), event),
        ("rating_good".into(), rating_good),
        ("rating_okay".into(), rating_okay),
        ("rating_bad".into(), rating_bad),
        ("label_department".into(), label_department),
        ("label_status".into(), label_status),
        ("label_priority".into(), label_priority),
        ("label_due".into(), label_due),
        ("label_assignee".into(), label_assignee),
        ("label_change".into(), label_change),
        ("label_ticket".into(), label_ticket),
        ("label_feedback".into(), label_feedback),
        ("button_status".into(), button_status),
        ("button_assign".into(), button_assign),
        ("button_reply".into(), button_reply),
        ("button_comment".into(), button_comment),
        ("button_open".into(), button_open),
        ("summary_title".into(), summary_title),
        ("summary_text".into(), summary_text),
    ];
    let CommandTexts {
        count: cmd_count,
        my_tickets: cmd_my_tickets,
        my_tickets_none: cmd_my_tickets_none,
        ticket_title: cmd_ticket_title,
        ticket_not_found: cmd_ticket_not_found,
        customer_tickets: cmd_customer_tickets,
        customer_tickets_none: cmd_customer_tickets_none,
        ticket_usage: cmd_ticket_usage,
        overdue: cmd_overdue,
        overdue_none: cmd_overdue_none,
        due_today: cmd_due_today,
        due_today_none: cmd_due_today_none,
        open: cmd_open,
        open_none: cmd_open_none,
        pending_title: cmd_pending_title,
        pending_text: cmd_pending_text,
        status_title: cmd_status_title,
        status_text: cmd_status_text,
        deskstatus_usage: cmd_deskstatus_usage,
        col_number: cmd_col_number,
        col_subject: cmd_col_subject,
        col_status: cmd_col_status,
        col_due: cmd_col_due,
        col_assignee: cmd_col_assignee,
        help_title: cmd_help_title,
        help_text: cmd_help_text,
        help_items: cmd_help_items,
        button_post: cmd_button_post,
        posted: cmd_posted,
        already_posted: cmd_already_posted,
        cannot_post_here: cmd_cannot_post_here,
        answer_expired: cmd_answer_expired,
        working: cmd_working,
        desk_unavailable: cmd_desk_unavailable,
        not_an_agent: cmd_not_an_agent,
        not_an_agent_by_id: cmd_not_an_agent_by_id,
        other_organisation: cmd_other_organisation,
        not_available: cmd_not_available,
        my_departments: cmd_my_departments,
    } = *cmd;
    v.push(("cmd.count".into(), cmd_count));
    v.push(("cmd.my_tickets".into(), cmd_my_tickets));
    v.push(("cmd.my_tickets_none".into(), cmd_my_tickets_none));
    v.push(("cmd.ticket_title".into(), cmd_ticket_title));
    v.push(("cmd.ticket_not_found".into(), cmd_ticket_not_found));
    v.push(("cmd.customer_tickets".into(), cmd_customer_tickets));
    v.push((
        "cmd.customer_tickets_none".into(),
        cmd_customer_tickets_none,
    ));
    v.push(("cmd.ticket_usage".into(), cmd_ticket_usage));
    v.push(("cmd.overdue".into(), cmd_overdue));
    v.push(("cmd.overdue_none".into(), cmd_overdue_none));
    v.push(("cmd.due_today".into(), cmd_due_today));
    v.push(("cmd.due_today_none".into(), cmd_due_today_none));
    v.push(("cmd.open".into(), cmd_open));
    v.push(("cmd.open_none".into(), cmd_open_none));
    v.push(("cmd.pending_title".into(), cmd_pending_title));
    v.push(("cmd.pending_text".into(), cmd_pending_text));
    v.push(("cmd.status_title".into(), cmd_status_title));
    v.push(("cmd.status_text".into(), cmd_status_text));
    v.push(("cmd.deskstatus_usage".into(), cmd_deskstatus_usage));
    v.push(("cmd.col_number".into(), cmd_col_number));
    v.push(("cmd.col_subject".into(), cmd_col_subject));
    v.push(("cmd.col_status".into(), cmd_col_status));
    v.push(("cmd.col_due".into(), cmd_col_due));
    v.push(("cmd.col_assignee".into(), cmd_col_assignee));
    v.push(("cmd.help_title".into(), cmd_help_title));
    v.push(("cmd.help_text".into(), cmd_help_text));
    for (i, s) in cmd_help_items.iter().enumerate() {
        v.push((format!("cmd.help_items[{i}]"), s));
    }
    v.push(("cmd.button_post".into(), cmd_button_post));
    v.push(("cmd.posted".into(), cmd_posted));
    v.push(("cmd.already_posted".into(), cmd_already_posted));
    v.push(("cmd.cannot_post_here".into(), cmd_cannot_post_here));
    v.push(("cmd.answer_expired".into(), cmd_answer_expired));
    v.push(("cmd.working".into(), cmd_working));
    v.push(("cmd.desk_unavailable".into(), cmd_desk_unavailable));
    v.push(("cmd.not_an_agent".into(), cmd_not_an_agent));
    v.push(("cmd.not_an_agent_by_id".into(), cmd_not_an_agent_by_id));
    v.push(("cmd.other_organisation".into(), cmd_other_organisation));
    v.push(("cmd.not_available".into(), cmd_not_available));
    v.push(("cmd.my_departments".into(), cmd_my_departments));
    let ActionTexts {
        off: act_off,
        connect: act_connect,
        reconnect: act_reconnect,
        connect_button: act_connect_button,
        not_allowed: act_not_allowed,
        not_found: act_not_found,
        expired: act_expired,
        already_done: act_already_done,
        in_progress: act_in_progress,
        unknown_outcome: act_unknown_outcome,
        invalid_choice: act_invalid_choice,
        desk_refused: act_desk_refused,
        desk_limit: act_desk_limit,
        status_title: act_status_title,
        status_label: act_status_label,
        status_button: act_status_button,
        assign_title: act_assign_title,
        assign_label: act_assign_label,
        assign_placeholder: act_assign_placeholder,
        assign_button: act_assign_button,
        unassign: act_unassign,
        team: act_team,
        reply_title: act_reply_title,
        reply_label: act_reply_label,
        reply_next: act_reply_next,
        confirm_title: act_confirm_title,
        confirm_label: act_confirm_label,
        send: act_send,
        comment_title: act_comment_title,
        comment_label: act_comment_label,
        visibility: act_visibility,
        private: act_private,
        public: act_public,
        comment_button: act_comment_button,
        done_status: act_done_status,
        done_assign: act_done_assign,
        done_unassign: act_done_unassign,
        done_reply: act_done_reply,
        done_comment: act_done_comment,
        edited: act_edited,
        no_from: act_no_from,
        no_recipient: act_no_recipient,
        empty: act_empty,
        linked: act_linked,
        already_linked: act_already_linked,
        unlinked: act_unlinked,
        not_linked: act_not_linked,
        help_title: act_help_title,
        help_items: act_help_items,
        page_linked_title: act_page_linked_title,
        page_linked: act_page_linked,
        page_failed_title: act_page_failed_title,
        page_bad_state: act_page_bad_state,
        page_used: act_page_used,
        page_wrong_user: act_page_wrong_user,
        page_denied: act_page_denied,
        page_not_agent: act_page_not_agent,
        page_error: act_page_error,
    } = *act;
    v.push(("act.off".into(), act_off));
    v.push(("act.connect".into(), act_connect));
    v.push(("act.reconnect".into(), act_reconnect));
    v.push(("act.connect_button".into(), act_connect_button));
    v.push(("act.not_allowed".into(), act_not_allowed));
    v.push(("act.not_found".into(), act_not_found));
    v.push(("act.expired".into(), act_expired));
    v.push(("act.already_done".into(), act_already_done));
    v.push(("act.in_progress".into(), act_in_progress));
    v.push(("act.unknown_outcome".into(), act_unknown_outcome));
    v.push(("act.invalid_choice".into(), act_invalid_choice));
    v.push(("act.desk_refused".into(), act_desk_refused));
    v.push(("act.desk_limit".into(), act_desk_limit));
    v.push(("act.status_title".into(), act_status_title));
    v.push(("act.status_label".into(), act_status_label));
    v.push(("act.status_button".into(), act_status_button));
    v.push(("act.assign_title".into(), act_assign_title));
    v.push(("act.assign_label".into(), act_assign_label));
    v.push(("act.assign_placeholder".into(), act_assign_placeholder));
    v.push(("act.assign_button".into(), act_assign_button));
    v.push(("act.unassign".into(), act_unassign));
    v.push(("act.team".into(), act_team));
    v.push(("act.reply_title".into(), act_reply_title));
    v.push(("act.reply_label".into(), act_reply_label));
    v.push(("act.reply_next".into(), act_reply_next));
    v.push(("act.confirm_title".into(), act_confirm_title));
    v.push(("act.confirm_label".into(), act_confirm_label));
    v.push(("act.send".into(), act_send));
    v.push(("act.comment_title".into(), act_comment_title));
    v.push(("act.comment_label".into(), act_comment_label));
    v.push(("act.visibility".into(), act_visibility));
    v.push(("act.private".into(), act_private));
    v.push(("act.public".into(), act_public));
    v.push(("act.comment_button".into(), act_comment_button));
    v.push(("act.done_status".into(), act_done_status));
    v.push(("act.done_assign".into(), act_done_assign));
    v.push(("act.done_unassign".into(), act_done_unassign));
    v.push(("act.done_reply".into(), act_done_reply));
    v.push(("act.done_comment".into(), act_done_comment));
    v.push(("act.edited".into(), act_edited));
    v.push(("act.no_from".into(), act_no_from));
    v.push(("act.no_recipient".into(), act_no_recipient));
    v.push(("act.empty".into(), act_empty));
    v.push(("act.linked".into(), act_linked));
    v.push(("act.already_linked".into(), act_already_linked));
    v.push(("act.unlinked".into(), act_unlinked));
    v.push(("act.not_linked".into(), act_not_linked));
    v.push(("act.help_title".into(), act_help_title));
    for (i, s) in act_help_items.iter().enumerate() {
        v.push((format!("act.help_items[{i}]"), s));
    }
    v.push(("act.page_linked_title".into(), act_page_linked_title));
    v.push(("act.page_linked".into(), act_page_linked));
    v.push(("act.page_failed_title".into(), act_page_failed_title));
    v.push(("act.page_bad_state".into(), act_page_bad_state));
    v.push(("act.page_used".into(), act_page_used));
    v.push(("act.page_wrong_user".into(), act_page_wrong_user));
    v.push(("act.page_denied".into(), act_page_denied));
    v.push(("act.page_not_agent".into(), act_page_not_agent));
    v.push(("act.page_error".into(), act_page_error));
    v
}

#[test]
fn both_catalogs_fill_the_same_placeholders() {
    let holes = |s: &str| {
        let mut v: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(k, _)| k.to_string()))
            .collect();
        v.sort();
        v
    };
    let (en, ja) = (strings(&EN), strings(&JA));
    assert_eq!(en.len(), ja.len());
    for ((key, en), (_, ja)) in en.iter().zip(&ja) {
        assert!(
            !en.trim().is_empty() && !ja.trim().is_empty(),
            "{key} is empty"
        );
        assert_eq!(holes(en), holes(ja), "{key}: {en} / {ja}");
    }
    assert_eq!(fill("{a} → {b}", &[("a", "x"), ("b", "y")]), "x → y");
}

#[test]
fn button_labels_fit_cliqs_twenty_characters() {
    for t in [&EN, &JA] {
        for label in [
            t.button_status,
            t.button_assign,
            t.button_reply,
            t.button_comment,
            t.button_open,
            t.cmd.button_post,
            t.act.connect_button,
            t.act.status_button,
            t.act.assign_button,
            t.act.reply_next,
            t.act.send,
            t.act.comment_button,
        ] {
            assert!(label.chars().count() <= 20, "{label}");
        }
    }
}
