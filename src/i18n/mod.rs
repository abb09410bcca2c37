//! Every user-facing string, one catalog per locale (ja, en). Templates use `{name}`
//! placeholders, filled by [`fill`].

use crate::config::Locale;

mod actions;

pub use actions::*;

/// The strings of one locale.
pub struct Texts {
    pub ticket_created: &'static str,
    pub ticket_closed: &'static str,
    pub ticket_reopened: &'static str,
    pub status_changed: &'static str,
    pub owner_changed: &'static str,
    pub department_changed: &'static str,
    pub escalated: &'static str,
    pub comment_added: &'static str,
    pub comment_added_private: &'static str,
    pub comment_edited: &'static str,
    pub mentioned: &'static str,
    pub rating_received: &'static str,
    pub due_in: &'static str,
    pub digest_title: &'static str,
    pub digest_text: &'static str,
    pub digest_all: &'static str,
    pub stat_created: &'static str,
    pub stat_closed: &'static str,
    pub stat_ratings: &'static str,
    pub stat_open: &'static str,
    pub stat_on_hold: &'static str,
    pub stat_overdue: &'static str,
    pub stat_unassigned: &'static str,
    pub stat_top: &'static str,
    pub stat_agent: &'static str,
    pub stat_count: &'static str,
    pub unavailable: &'static str,
    pub nobody_closed: &'static str,
    pub good_share: &'static str,
    pub reminder: &'static str,
    pub missed_title: &'static str,
    pub missed_text: &'static str,
    /// `missed_text` for a single change.
    pub missed_text_one: &'static str,
    pub activity_created: &'static str,
    pub activity_completed: &'static str,
    pub by: &'static str,
    pub unassigned: &'static str,
    /// A team holds the ticket (its name unknown).
    pub team_any: &'static str,
    /// `mentioned` when the commenter cannot be named.
    pub mentioned_unknown: &'static str,
    pub task: &'static str,
    pub call: &'static str,
    pub event: &'static str,
    pub rating_good: &'static str,
    pub rating_okay: &'static str,
    pub rating_bad: &'static str,
    pub label_department: &'static str,
    pub label_status: &'static str,
    pub label_priority: &'static str,
    pub label_due: &'static str,
    pub label_assignee: &'static str,
    pub label_change: &'static str,
    pub label_ticket: &'static str,
    pub label_feedback: &'static str,
    pub button_status: &'static str,
    pub button_assign: &'static str,
    pub button_reply: &'static str,
    pub button_comment: &'static str,
    pub button_open: &'static str,
    pub summary_title: &'static str,
    pub summary_text: &'static str,
    /// Answers to Cliq commands, bot messages and buttons.
    pub cmd: &'static CommandTexts,
    /// Quick actions and linking.
    pub act: &'static ActionTexts,
}

pub static EN: Texts = Texts {
    ticket_created: "New ticket",
    ticket_closed: "Ticket closed",
    ticket_reopened: "Ticket reopened",
    status_changed: "Status: {from} → {to}",
    owner_changed: "Assignee: {from} → {to}",
    department_changed: "Moved from {from} to {to}",
    escalated: "Ticket escalated",
    comment_added: "New comment",
    comment_added_private: "New private comment",
    comment_edited: "Comment edited",
    mentioned: "{who} mentioned you",
    rating_received: "Customer rating: {rating}",
    due_in: "⏰ Due in {minutes} min",
    digest_title: "Daily summary {date} — {scope}",
    digest_text: "{scope}, {from} – {to}",
    digest_all: "All departments",
    stat_created: "Created",
    stat_closed: "Closed",
    stat_ratings: "Ratings (good / okay / bad)",
    stat_open: "Open",
    stat_on_hold: "On hold",
    stat_overdue: "Overdue",
    stat_unassigned: "Unassigned",
    stat_top: "Top agents by tickets closed",
    stat_agent: "Agent",
    stat_count: "Closed",
    unavailable: "unavailable",
    nobody_closed: "no ticket closed",
    good_share: " ({percent}% good)",
    reminder: "⏰ Reminder: {kind} {subject}",
    missed_title: "While deskcliq was not listening",
    missed_text: "{count} changes were found by reconciliation",
    missed_text_one: "{count} change was found by reconciliation",
    activity_created: "New {kind}: {subject}",
    activity_completed: "Completed {kind}: {subject}",
    by: "by {who}",
    unassigned: "Unassigned",
    team_any: "Team",
    mentioned_unknown: "Someone mentioned you",
    task: "task",
    call: "call",
    event: "event",
    rating_good: "Good 😀",
    rating_okay: "Okay 😐",
    rating_bad: "Bad 😞",
    label_department: "Department",
    label_status: "Status",
    label_priority: "Priority",
    label_due: "Due",
    label_assignee: "Assignee",
    label_change: "Change",
    label_ticket: "Ticket",
    label_feedback: "Feedback",
    button_status: "Change status",
    button_assign: "Assign",
    button_reply: "Reply",
    button_comment: "Comment",
    button_open: "Open in Desk",
    summary_title: "{count} ticket updates",
    summary_text: "{count} changes, oldest first",
    cmd: &EN_CMD,
    act: &EN_ACT,
};

pub static JA: Texts = Texts {
    ticket_created: "新しいチケット",
    ticket_closed: "チケットがクローズされました",
    ticket_reopened: "チケットが再オープンされました",
    status_changed: "ステータス: {from} → {to}",
    owner_changed: "担当者: {from} → {to}",
    department_changed: "{from} から {to} に移動しました",
    escalated: "チケットがエスカレーションされました",
    comment_added: "新しいコメント",
    comment_added_private: "新しい非公開コメント",
    comment_edited: "コメントが編集されました",
    mentioned: "{who} さんがあなたをメンションしました",
    rating_received: "顧客評価: {rating}",
    due_in: "⏰ 期限まであと {minutes} 分",
    digest_title: "日次サマリー {date} — {scope}",
    digest_text: "{scope}、{from} – {to}",
    digest_all: "全部門",
    stat_created: "新規",
    stat_closed: "クローズ",
    stat_ratings: "評価（良い / 普通 / 悪い）",
    stat_open: "オープン",
    stat_on_hold: "保留",
    stat_overdue: "期限超過",
    stat_unassigned: "未割り当て",
    stat_top: "クローズ件数の多い担当者",
    stat_agent: "担当者",
    stat_count: "クローズ",
    unavailable: "取得できませんでした",
    nobody_closed: "クローズされたチケットなし",
    good_share: "（良い {percent}%）",
    reminder: "⏰ リマインダー: {kind} {subject}",
    missed_title: "deskcliq が受信できなかった間の変更",
    missed_text: "照合で {count} 件の変更が見つかりました",
    missed_text_one: "照合で {count} 件の変更が見つかりました",
    activity_created: "新しい{kind}: {subject}",
    activity_completed: "{kind}が完了しました: {subject}",
    by: "{who} さんによる変更",
    unassigned: "未割り当て",
    team_any: "チーム",
    mentioned_unknown: "コメントであなたがメンションされました",
    task: "タスク",
    call: "通話",
    event: "イベント",
    rating_good: "良い 😀",
    rating_okay: "普通 😐",
    rating_bad: "悪い 😞",
    label_department: "部門",
    label_status: "ステータス",
    label_priority: "優先度",
    label_due: "期限",
    label_assignee: "担当者",
    label_change: "変更",
    label_ticket: "チケット",
    label_feedback: "フィードバック",
    button_status: "ステータス変更",
    button_assign: "担当者を割り当て",
    button_reply: "返信",
    button_comment: "コメント",
    button_open: "Deskで開く",
    summary_title: "チケットの更新 {count} 件",
    summary_text: "{count} 件の変更（古い順）",
    cmd: &JA_CMD,
    act: &JA_ACT,
};

pub fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::Ja => &JA,
        Locale::En => &EN,
    }
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_fill_the_same_placeholders() {
        let pairs = [
            (EN.status_changed, JA.status_changed),
            (EN.owner_changed, JA.owner_changed),
            (EN.department_changed, JA.department_changed),
            (EN.mentioned, JA.mentioned),
            (EN.rating_received, JA.rating_received),
            (EN.activity_created, JA.activity_created),
            (EN.activity_completed, JA.activity_completed),
            (EN.by, JA.by),
            (EN.summary_title, JA.summary_title),
            (EN.summary_text, JA.summary_text),
            (EN.due_in, JA.due_in),
            (EN.digest_title, JA.digest_title),
            (EN.digest_text, JA.digest_text),
            (EN.good_share, JA.good_share),
            (EN.reminder, JA.reminder),
            (EN.missed_text, JA.missed_text),
            (EN.missed_text_one, JA.missed_text_one),
            (EN.cmd.ticket_title, JA.cmd.ticket_title),
            (EN.cmd.count, JA.cmd.count),
            (EN.act.desk_refused, JA.act.desk_refused),
            (EN.act.status_title, JA.act.status_title),
            (EN.act.assign_title, JA.act.assign_title),
            (EN.act.team, JA.act.team),
            (EN.act.reply_title, JA.act.reply_title),
            (EN.act.confirm_title, JA.act.confirm_title),
            (EN.act.confirm_label, JA.act.confirm_label),
            (EN.act.comment_title, JA.act.comment_title),
            (EN.act.done_status, JA.act.done_status),
            (EN.act.done_assign, JA.act.done_assign),
            (EN.act.done_unassign, JA.act.done_unassign),
            (EN.act.done_reply, JA.act.done_reply),
            (EN.act.done_comment, JA.act.done_comment),
            (EN.act.edited, JA.act.edited),
            (EN.cmd.ticket_not_found, JA.cmd.ticket_not_found),
            (EN.cmd.customer_tickets, JA.cmd.customer_tickets),
            (EN.cmd.customer_tickets_none, JA.cmd.customer_tickets_none),
            (EN.cmd.status_text, JA.cmd.status_text),
        ];
        let holes = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(k, _)| k.to_string()))
                .collect();
            v.sort();
            v
        };
        for (en, ja) in pairs {
            assert_eq!(holes(en), holes(ja), "{en} / {ja}");
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
}
