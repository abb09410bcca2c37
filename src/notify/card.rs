//! A change as a Cliq card a busy agent reads at a glance: ticket number and subject, what
//! changed and who changed it, department, priority, due time in the org's zone, and the
//! quick actions. Customer text goes through [`inert`].

use chrono_tz::Tz;

use super::inert::inert;
use super::model::{ActivityKind, Change, ChangeKind, RatingKind};
use super::route::Agents;
use crate::cliq::{Button, Message, Slide};
use crate::config::{Action, Config};
use crate::i18n::{Texts, fill, texts};

/// A rendered notification: the message, and one line that stands for it in a summary card.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub message: Message,
    pub line: String,
    /// Sent alone, never merged into a summary card, where only its line would be left (a
    /// daily summary's figures, a reconciliation's list).
    pub whole: bool,
}

fn when(t: chrono::DateTime<chrono::Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

fn agent_name(agents: &Agents, id: Option<&str>, tx: &Texts) -> String {
    match id {
        None => tx.unassigned.to_string(),
        Some(id) => inert(agents.name(id).unwrap_or(id), 60),
    }
}

/// Who holds a ticket: the agent, else the team (by name when Desk named it), else nobody.
fn holder(agents: &Agents, id: Option<&str>, team: Option<&str>, tx: &Texts) -> String {
    match (id, team) {
        (None, Some("")) => tx.team_any.to_string(),
        (None, Some(name)) => fill(tx.act.team, &[("name", &inert(name, 60))]),
        _ => agent_name(agents, id, tx),
    }
}

fn department_name(config: &Config, id: Option<&str>) -> String {
    match id {
        None => "-".into(),
        Some(id) => config
            .department(id)
            .map(|d| inert(&d.name, 60))
            .unwrap_or_else(|| inert(id, 40)),
    }
}

/// `url` if it points at this portal's Desk (its host, or a host of the same Zoho domain):
/// a webhook body is not signed, so its `webUrl` must not become a button to anywhere.
pub(crate) fn desk_link(url: &str, config: &Config) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "https" | "http") {
        return None;
    }
    let host = u.host_str()?.to_ascii_lowercase();
    let desk = url::Url::parse(&config.zoho.urls.desk).ok()?;
    let desk_host = desk.host_str()?.to_ascii_lowercase();
    let parent = desk_host
        .split_once('.')
        .map(|(_, rest)| rest)
        .filter(|p| p.contains('.'));
    let ok =
        host == desk_host || parent.is_some_and(|p| host.ends_with(&format!(".{p}")) || host == p);
    ok.then(|| u.to_string())
}

/// A comment body as an excerpt: HTML tags dropped, mentions shown as `@name`, made inert.
fn excerpt(content: &str, agents: &Agents) -> String {
    let mut text = String::with_capacity(content.len());
    let mut in_tag = false;
    for c in content.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    for zuid in super::classify::mentions(&text) {
        let name = agents
            .by_zuid(&zuid)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| zuid.clone());
        text = text.replace(&format!("zsu[@user:{zuid}]zsu"), &format!("@{name}"));
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    inert(&text, 500)
}

fn activity_name(kind: ActivityKind, tx: &Texts) -> &'static str {
    match kind {
        ActivityKind::Task => tx.task,
        ActivityKind::Call => tx.call,
        ActivityKind::Event => tx.event,
    }
}

/// How many changes reconciliation found, in words ("1 change", "2 changes").
fn missed_text(count: usize, tx: &Texts) -> String {
    let template = if count == 1 {
        tx.missed_text_one
    } else {
        tx.missed_text
    };
    fill(template, &[("count", &count.to_string())])
}

/// The headline of a change (what happened), in the locale.
fn headline(change: &Change, config: &Config, agents: &Agents, tx: &Texts) -> String {
    match &change.kind {
        ChangeKind::Created => tx.ticket_created.into(),
        ChangeKind::Closed => tx.ticket_closed.into(),
        ChangeKind::Reopened => tx.ticket_reopened.into(),
        ChangeKind::StatusChanged { from, to } => fill(
            tx.status_changed,
            &[("from", &inert(from, 60)), ("to", &inert(to, 60))],
        ),
        ChangeKind::OwnerChanged {
            from,
            to,
            from_team,
            to_team,
        } => fill(
            tx.owner_changed,
            &[
                (
                    "from",
                    &holder(agents, from.as_deref(), from_team.as_deref(), tx),
                ),
                ("to", &holder(agents, to.as_deref(), to_team.as_deref(), tx)),
            ],
        ),
        ChangeKind::DepartmentChanged { from, to } => fill(
            tx.department_changed,
            &[
                ("from", &department_name(config, from.as_deref())),
                ("to", &department_name(config, to.as_deref())),
            ],
        ),
        ChangeKind::Escalated => tx.escalated.into(),
        ChangeKind::CommentAdded { public: true, .. } => tx.comment_added.into(),
        ChangeKind::CommentAdded { public: false, .. } => tx.comment_added_private.into(),
        ChangeKind::CommentEdited { .. } => tx.comment_edited.into(),
        // The commenter by name; an id, or no commenter, is "someone" (not "Unassigned"), in
        // a sentence of its own (Japanese puts an honorific after a name).
        ChangeKind::Mentioned { .. } => {
            match change.actor.as_deref().and_then(|a| agents.name(a)) {
                Some(name) => fill(tx.mentioned, &[("who", &inert(name, 60))]),
                None => tx.mentioned_unknown.into(),
            }
        }
        ChangeKind::ActivityCreated { kind, subject, .. } => fill(
            tx.activity_created,
            &[
                ("kind", activity_name(*kind, tx)),
                ("subject", &inert(subject, 200)),
            ],
        ),
        ChangeKind::ActivityCompleted { kind, subject } => fill(
            tx.activity_completed,
            &[
                ("kind", activity_name(*kind, tx)),
                ("subject", &inert(subject, 200)),
            ],
        ),
        ChangeKind::DueSoon { minutes_left, .. } => {
            fill(tx.due_in, &[("minutes", &minutes_left.max(&0).to_string())])
        }
        ChangeKind::Reminder { kind, subject, .. } => fill(
            tx.reminder,
            &[
                ("kind", activity_name(*kind, tx)),
                ("subject", &inert(subject, 200)),
            ],
        ),
        ChangeKind::Missed { lines } => missed_text(lines.len(), tx),
        ChangeKind::Rated { rating, .. } => fill(
            tx.rating_received,
            &[(
                "rating",
                match rating {
                    RatingKind::Good => tx.rating_good,
                    RatingKind::Okay => tx.rating_okay,
                    RatingKind::Bad => tx.rating_bad,
                },
            )],
        ),
    }
}

/// The card for `change` in `config.org.locale`.
pub fn render(change: &Change, config: &Config, agents: &Agents) -> Card {
    let tx = texts(config.org.locale);
    if let ChangeKind::Missed { lines } = &change.kind {
        let n = lines.len().to_string();
        let rows = lines
            .iter()
            .enumerate()
            .map(|(i, l)| vec![(i + 1).to_string(), l.clone()])
            .collect();
        let message = Message::new(&missed_text(lines.len(), tx))
            .with_bot("Deskbot", None)
            .with_card(tx.missed_title, "modern-inline")
            .with_slide(Slide::table(None, &["#", tx.label_change], rows));
        return Card {
            line: format!("{} ({n})", tx.missed_title),
            message,
            whole: true,
        };
    }
    let tz = config.org.timezone;
    let t = &change.ticket;
    let title = if t.number.is_empty() {
        inert(&t.subject, 190)
    } else {
        format!("#{} {}", inert(&t.number, 20), inert(&t.subject, 180))
    };
    let head = headline(change, config, agents, tx);
    let mut text = format!("*{head}*");
    // Who did it, when an agent did: a customer's or an automation's id means nothing to a
    // reader (a ticket created by mail said "by 0").
    let actor_name = change.actor.as_deref().and_then(|a| agents.name(a));
    if let Some(name) = actor_name
        && !matches!(change.kind, ChangeKind::Mentioned { .. })
    {
        text.push('\n');
        text.push_str(&fill(tx.by, &[("who", &inert(name, 60))]));
    }
    let mut pairs = vec![(
        tx.label_department.to_string(),
        department_name(config, change.department_id.as_deref()),
    )];
    if !t.status.is_empty() {
        pairs.push((tx.label_status.to_string(), inert(&t.status, 60)));
    }
    if let Some(p) = &t.priority {
        pairs.push((tx.label_priority.to_string(), inert(p, 40)));
    }
    // An activity's card names the activity's owner: the ticket's assignee (if it has a
    // ticket at all) is someone else's business.
    let assignee = match &change.kind {
        ChangeKind::ActivityCreated { .. }
        | ChangeKind::ActivityCompleted { .. }
        | ChangeKind::Reminder { .. } => agent_name(agents, change.owner.as_deref(), tx),
        ChangeKind::OwnerChanged { to, to_team, .. } => {
            holder(agents, to.as_deref(), to_team.as_deref(), tx)
        }
        // A team-only ticket is not unassigned.
        _ => holder(
            agents,
            t.assignee_id.as_deref(),
            t.team_id.as_ref().map(|_| ""),
            tx,
        ),
    };
    pairs.push((tx.label_assignee.to_string(), assignee));
    // An activity's card shows the activity's due time (a completed one has none left),
    // never its ticket's: beside the activity's owner it would read as the activity's.
    let due = match &change.kind {
        ChangeKind::ActivityCreated { due, .. } | ChangeKind::Reminder { due, .. } => *due,
        ChangeKind::ActivityCompleted { .. } => None,
        ChangeKind::DueSoon { due, .. } => Some(*due),
        _ => t.due_date,
    };
    if let Some(d) = due {
        pairs.push((tx.label_due.to_string(), when(d, tz)));
    }
    let mut message = Message::new(&text)
        .with_bot("Deskbot", None)
        .with_card(&title, "modern-inline")
        .with_slide(Slide::label(None, pairs));
    match &change.kind {
        ChangeKind::CommentAdded { excerpt: body, .. }
        | ChangeKind::CommentEdited { excerpt: body }
        | ChangeKind::Mentioned { excerpt: body, .. } => {
            message = message.with_slide(Slide::text(None, &excerpt(body, agents)));
        }
        ChangeKind::Rated {
            feedback: Some(f), ..
        } => {
            message = message.with_slide(Slide::text(Some(tx.label_feedback), &inert(f, 500)));
        }
        _ => {}
    }
    // Quick actions need the secret key (agents' tokens are kept encrypted with it).
    if config.storage.secret_key.is_some() && !t.id.is_empty() {
        let dep = change.department_id.as_deref().unwrap_or("");
        for action in config.actions_for(dep) {
            let label = match action {
                Action::Status => tx.button_status,
                Action::Assign => tx.button_assign,
                Action::Reply => tx.button_reply,
                Action::Comment => tx.button_comment,
            };
            message = message.with_button(Button::invoke(
                label,
                "deskaction",
                &format!("{}:{}", action.as_str(), t.id),
            ));
        }
    }
    if let Some(url) = t
        .web_url
        .as_deref()
        .and_then(|u| desk_link(u, config))
        .as_deref()
        && let Some(b) = Button::open_url(tx.button_open, url)
    {
        message = message.with_button(b);
    }
    let line = format!("{title} — {head}");
    Card {
        message,
        line,
        whole: false,
    }
}

/// One message standing for several of a target's notifications, oldest first.
/// Characters a summary card's slide may take: Cliq allows 10,000 for all slides together,
/// counted here as the slide's JSON (keys, quotes and escapes included) with a margin.
const SUMMARY_SLIDE_CHARS: usize = 9_500;
/// Rows of one summary card at most, however short they are.
pub const SUMMARY_ROWS: usize = 200;

/// How many of `lines`, taken in order, one summary card holds: as many as fit in Cliq's
/// characters of slides, so short lines make fewer posts when a burst has to be merged.
pub fn summary_capacity<'a>(lines: impl IntoIterator<Item = &'a str>, config: &Config) -> usize {
    let tx = texts(config.org.locale);
    let chars = |v: &serde_json::Value| {
        serde_json::to_string(v).map_or(0, |s| crate::cliq::message::cliq_len(&s))
    };
    let empty = Slide::table(None, &["#", tx.label_change], Vec::new());
    let mut used = serde_json::to_value(&empty).map_or(0, |v| chars(&v));
    let mut n = 0;
    for line in lines.into_iter().take(SUMMARY_ROWS) {
        // A row as it is written: `{"#":"12","Change":"…"},`.
        let row = serde_json::json!({ "#": (n + 1).to_string(), tx.label_change: line });
        used += chars(&row) + 1;
        if used > SUMMARY_SLIDE_CHARS {
            break;
        }
        n += 1;
    }
    n.max(1)
}

pub fn summary(lines: &[String], config: &Config) -> Message {
    let tx = texts(config.org.locale);
    let n = lines.len().to_string();
    let rows = lines
        .iter()
        .enumerate()
        .map(|(i, l)| vec![(i + 1).to_string(), l.clone()])
        .collect();
    Message::new(&fill(tx.summary_text, &[("count", &n)]))
        .with_bot("Deskbot", None)
        .with_card(&fill(tx.summary_title, &[("count", &n)]), "modern-inline")
        .with_slide(Slide::table(None, &["#", tx.label_change], rows))
}

/// A figure of the statistics, for picking some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKey {
    Created,
    Closed,
    Ratings,
    Open,
    OnHold,
    Overdue,
    Unassigned,
}

/// Every figure of `stats` as (key, label, value) in `tx`'s words.
pub fn stat_pairs(stats: &crate::stats::Stats, tx: &Texts) -> Vec<(StatKey, String, String)> {
    use crate::stats::Figure;
    let n = |f: &Figure<u64>| match f {
        Figure::Known(v) => v.to_string(),
        Figure::Unavailable => tx.unavailable.to_string(),
    };
    let ratings = match &stats.ratings {
        Figure::Known(r) => {
            let share = r
                .good_share()
                .map(|p| fill(tx.good_share, &[("percent", &p.to_string())]))
                .unwrap_or_default();
            format!("{} / {} / {}{share}", r.good, r.okay, r.bad)
        }
        Figure::Unavailable => tx.unavailable.to_string(),
    };
    vec![
        (
            StatKey::Created,
            tx.stat_created.to_string(),
            n(&stats.created),
        ),
        (
            StatKey::Closed,
            tx.stat_closed.to_string(),
            n(&stats.closed),
        ),
        (StatKey::Ratings, tx.stat_ratings.to_string(), ratings),
        (StatKey::Open, tx.stat_open.to_string(), n(&stats.open)),
        (
            StatKey::OnHold,
            tx.stat_on_hold.to_string(),
            n(&stats.on_hold),
        ),
        (
            StatKey::Overdue,
            tx.stat_overdue.to_string(),
            n(&stats.overdue),
        ),
        (
            StatKey::Unassigned,
            tx.stat_unassigned.to_string(),
            n(&stats.unassigned),
        ),
    ]
}

/// The top agents of `stats` as a slide (a sentence when nobody closed or it is unknown).
pub fn top_slide(stats: &crate::stats::Stats, tx: &Texts, title: Option<&str>) -> Slide {
    use crate::stats::Figure;
    let title = title.unwrap_or(tx.stat_top);
    match &stats.top {
        Figure::Known(top) if !top.is_empty() => Slide::table(
            Some(title),
            &[tx.stat_agent, tx.stat_count],
            top.iter()
                .map(|(name, c)| vec![inert(name, 60), c.to_string()])
                .collect(),
        ),
        Figure::Known(_) => Slide::text(Some(title), tx.nobody_closed),
        Figure::Unavailable => Slide::text(Some(title), tx.unavailable),
    }
}

/// The daily summary of `stats` for `scope` (a department's name, or `None` for the org).
pub fn digest(stats: &crate::stats::Stats, config: &Config, scope: Option<&str>) -> Message {
    let tx = texts(config.org.locale);
    let tz = config.org.timezone;
    let scope = scope
        .map(|s| inert(s, 60))
        .unwrap_or_else(|| tx.digest_all.to_string());
    let date = stats.to.with_timezone(&tz).format("%Y-%m-%d").to_string();
    let window =
        |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%m-%d %H:%M").to_string();
    let pairs = stat_pairs(stats, tx)
        .into_iter()
        .map(|(_, label, value)| (label, value))
        .collect();
    Message::new(&fill(
        tx.digest_text,
        &[
            ("scope", &scope),
            ("from", &window(stats.from)),
            ("to", &format!("{} {}", window(stats.to), tz.name())),
        ],
    ))
    .with_bot("Deskbot", None)
    .with_card(
        &fill(tx.digest_title, &[("date", &date), ("scope", &scope)]),
        "modern-inline",
    )
    .with_slide(Slide::label(None, pairs))
    .with_slide(top_slide(stats, tx, None))
}
