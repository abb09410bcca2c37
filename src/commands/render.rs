//! Command answers as Cliq messages, in the asker's language: ticket lists as table slides
//! (number linked to Desk, subject, status, due, assignee), figures as label slides, banners.
//! Everything that comes from Desk is made inert.

use chrono_tz::Tz;
use serde_json::{Value, json};

use super::args::StatusPart;
use crate::cliq::{Button, Message, Slide};
use crate::config::Config;
use crate::desk::Ticket;
use crate::i18n::{Texts, fill};
use crate::notify::card::{StatKey, desk_link, stat_pairs, top_slide};
use crate::notify::inert::inert;
use crate::notify::route::Agents;
use crate::stats::Stats;

/// What rendering needs besides the data.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub agents: &'a Agents,
    pub tx: &'a Texts,
    /// The asker's time zone (their Cliq one when valid, else the org's).
    pub tz: Tz,
    pub locale: crate::config::Locale,
}

/// A banner: `success` or `failure`.
pub fn banner(ok: bool, text: &str) -> Value {
    json!({
        "type": "banner",
        "status": if ok { "success" } else { "failure" },
        "text": text,
    })
}

fn assignee(t: &Ticket, ctx: &Ctx) -> String {
    let Some(id) = t.assignee_id.as_deref() else {
        return ctx.tx.unassigned.to_string();
    };
    if let Some(name) = ctx.agents.name(id) {
        return inert(name, 40);
    }
    t.assignee
        .as_ref()
        .map(|a| {
            format!(
                "{} {}",
                a.first_name.as_deref().unwrap_or_default(),
                a.last_name.as_deref().unwrap_or_default()
            )
        })
        .filter(|n| !n.trim().is_empty())
        .map(|n| inert(n.trim(), 40))
        .unwrap_or_else(|| inert(id, 40))
}

/// The ticket number, linked to the ticket's page when the link goes to this portal's Desk.
fn number_cell(t: &Ticket, ctx: &Ctx) -> String {
    let number = format!("#{}", inert(&t.ticket_number, 20));
    match t.web_url.as_deref().and_then(|u| desk_link(u, ctx.config)) {
        // A URL with `)` or spaces would end the link early: leave such a number unlinked.
        Some(url) if !url.contains([')', ' ', '(']) => format!("[{number}]({url})"),
        _ => number,
    }
}

fn due(t: &Ticket, ctx: &Ctx) -> String {
    t.due_date
        .map(|d| d.with_timezone(&ctx.tz).format("%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// A list of tickets: a table slide, or `empty` in words.
pub fn tickets(title: &str, empty: &str, list: &[Ticket], ctx: &Ctx) -> Message {
    let c = ctx.tx.cmd;
    if list.is_empty() {
        return Message::new(empty)
            .with_bot("Deskbot", None)
            .with_card(title, "modern-inline");
    }
    let rows = list
        .iter()
        .map(|t| {
            vec![
                number_cell(t, ctx),
                inert(t.subject.as_deref().unwrap_or("-"), 80),
                inert(t.status.as_deref().unwrap_or("-"), 30),
                due(t, ctx),
                assignee(t, ctx),
            ]
        })
        .collect();
    Message::new(&fill(c.count, &[("count", &list.len().to_string())]))
        .with_bot("Deskbot", None)
        .with_card(title, "modern-inline")
        .with_slide(Slide::table(
            None,
            &[
                c.col_number,
                c.col_subject,
                c.col_status,
                c.col_due,
                c.col_assignee,
            ],
            rows,
        ))
}

/// One ticket, with a button to open it in Desk.
pub fn ticket(t: &Ticket, ctx: &Ctx) -> Message {
    let title = fill(
        ctx.tx.cmd.ticket_title,
        &[("number", &inert(&t.ticket_number, 20))],
    );
    let mut m = tickets(&title, "", std::slice::from_ref(t), ctx);
    if let Some(b) = t
        .web_url
        .as_deref()
        .and_then(|u| desk_link(u, ctx.config))
        .and_then(|u| Button::open_url(ctx.tx.button_open, &u))
    {
        m = m.with_button(b);
    }
    m
}

/// A department's name as the config gives it, else its id.
fn department_name(id: &str, ctx: &Ctx) -> String {
    ctx.config
        .department(id)
        .map(|d| inert(&d.name, 60))
        .unwrap_or_else(|| inert(id, 40))
}

/// `/pendingtickets`: open, on hold, overdue and unassigned for each department.
pub fn pending(per_department: &[(String, Stats)], ctx: &Ctx) -> Message {
    let c = ctx.tx.cmd;
    let keep = [
        StatKey::Open,
        StatKey::OnHold,
        StatKey::Overdue,
        StatKey::Unassigned,
    ];
    let mut m = Message::new(c.pending_text)
        .with_bot("Deskbot", None)
        .with_card(c.pending_title, "modern-inline");
    for (dep, stats) in per_department {
        let pairs = stat_pairs(stats, ctx.tx)
            .into_iter()
            .filter(|(k, _, _)| keep.contains(k))
            .map(|(_, l, v)| (l, v))
            .collect();
        m = m.with_slide(Slide::label(Some(&department_name(dep, ctx)), pairs));
    }
    m
}

/// `/deskstatus [part]`: the last 24 hours for each department.
pub fn status(per_department: &[(String, Stats)], part: StatusPart, ctx: &Ctx) -> Message {
    let c = ctx.tx.cmd;
    let keep: &[StatKey] = match part {
        StatusPart::All => &[
            StatKey::Created,
            StatKey::Closed,
            StatKey::Ratings,
            StatKey::Open,
            StatKey::OnHold,
            StatKey::Overdue,
            StatKey::Unassigned,
        ],
        StatusPart::New => &[StatKey::Created],
        StatusPart::Closed => &[StatKey::Closed],
        StatusPart::Csat => &[StatKey::Ratings],
        StatusPart::Top => &[],
    };
    let window = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&ctx.tz).format("%m-%d %H:%M").to_string()
    };
    let (from, to) = per_department
        .first()
        .map(|(_, s)| (window(s.from), window(s.to)))
        .unwrap_or_default();
    let mut m = Message::new(&fill(
        c.status_text,
        &[("from", &from), ("to", &format!("{to} {}", ctx.tz.name()))],
    ))
    .with_bot("Deskbot", None)
    .with_card(c.status_title, "modern-inline");
    for (dep, stats) in per_department {
        let name = department_name(dep, ctx);
        if !keep.is_empty() {
            let pairs = stat_pairs(stats, ctx.tx)
                .into_iter()
                .filter(|(k, _, _)| keep.contains(k))
                .map(|(_, l, v)| (l, v))
                .collect();
            m = m.with_slide(Slide::label(Some(&name), pairs));
        }
        if matches!(part, StatusPart::All | StatusPart::Top) {
            let title = format!("{name}: {}", ctx.tx.stat_top);
            m = m.with_slide(top_slide(stats, ctx.tx, Some(&title)));
        }
    }
    m
}

/// What the bot understands.
pub fn help(ctx: &Ctx) -> Message {
    let c = ctx.tx.cmd;
    Message::new(c.help_text)
        .with_bot("Deskbot", None)
        .with_card(c.help_title, "modern-inline")
        .with_slide(Slide::list(
            None,
            c.help_items.iter().map(|s| s.to_string()).collect(),
        ))
}
