//! What people type: `/ticket`'s argument, `/deskstatus`'s attribute, and the bot phrases.
//! Pure functions: full-width forms (`１１５`, `＃１１５`, `ｓａｔｏ＠…`) read as their ASCII
//! twins, spaces anywhere around are ignored.

/// `/ticket`'s three forms, or none of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketArg {
    /// Nothing: my tickets.
    Mine,
    /// A ticket number (`115`, `#115`, `１１５`), without leading zeros.
    Number(String),
    /// A customer's email, lower-cased.
    Email(String),
    /// Anything else: the usage banner.
    Invalid,
}

/// `/deskstatus`'s attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPart {
    All,
    New,
    Closed,
    Csat,
    Top,
}

/// The bot's phrases and menu actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    Overdue,
    DueToday,
    Open,
}

/// Full-width ASCII forms (U+FF01–U+FF5E) as ASCII, the ideographic space as a space.
pub fn narrow(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// Whitespace runs as one space, trimmed.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn ticket_arg(input: &str) -> TicketArg {
    let s = squeeze(&narrow(input));
    if s.is_empty() {
        return TicketArg::Mine;
    }
    let number = s.strip_prefix('#').map(str::trim).unwrap_or(&s);
    if !number.is_empty() && number.len() <= 18 && number.chars().all(|c| c.is_ascii_digit()) {
        let n = number.trim_start_matches('0');
        return if n.is_empty() {
            TicketArg::Invalid
        } else {
            TicketArg::Number(n.to_string())
        };
    }
    if is_email(&s) {
        return TicketArg::Email(s.to_ascii_lowercase());
    }
    TicketArg::Invalid
}

/// A plain address: one `@`, a local part and a dotted domain of safe characters, no spaces.
fn is_email(s: &str) -> bool {
    if s.len() > 254 {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            // No `*`, `?`, `{`, `}` or `$`: Desk's search would read them as patterns.
            .all(|c| c.is_ascii_alphanumeric() || "!#%&'+-/=^_`|~.".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

pub fn status_part(input: &str) -> Option<StatusPart> {
    match squeeze(&narrow(input)).to_ascii_lowercase().as_str() {
        "" => Some(StatusPart::All),
        "new" => Some(StatusPart::New),
        "closed" => Some(StatusPart::Closed),
        "csat" => Some(StatusPart::Csat),
        "top" => Some(StatusPart::Top),
        _ => None,
    }
}

pub fn phrase(input: &str) -> Option<Phrase> {
    let s = squeeze(&narrow(input)).to_lowercase();
    let s = s.trim_end_matches(['?', '!', '.', '？', '！', '。']).trim();
    match s {
        "overdue tickets" | "overdue" | "期限切れ" | "期限切れのチケット" => {
            Some(Phrase::Overdue)
        }
        "due today" | "due today tickets" | "今日が期限" | "今日が期限のチケット" => {
            Some(Phrase::DueToday)
        }
        "open tickets" | "open" | "未完了" | "未完了のチケット" => Some(Phrase::Open),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_argument_forms() {
        let num = |s: &str| TicketArg::Number(s.into());
        assert_eq!(ticket_arg(""), TicketArg::Mine);
        assert_eq!(ticket_arg("   "), TicketArg::Mine);
        assert_eq!(ticket_arg("115"), num("115"));
        assert_eq!(ticket_arg("#115"), num("115"));
        assert_eq!(ticket_arg("  # 115  "), num("115"));
        assert_eq!(ticket_arg("１１５"), num("115"));
        assert_eq!(ticket_arg("＃１１５"), num("115"));
        assert_eq!(ticket_arg("\u{3000}115\u{3000}"), num("115"));
        assert_eq!(ticket_arg("0115"), num("115"));
        assert_eq!(
            ticket_arg("Someone@Example.COM"),
            TicketArg::Email("someone@example.com".into())
        );
        assert_eq!(
            ticket_arg("  ｓａｔｏ＠ｅｘａｍｐｌｅ．ｊｐ "),
            TicketArg::Email("sato@example.jp".into())
        );
        for junk in [
            "abc",
            "115 116",
            "#",
            "0",
            "#12a",
            "-5",
            "1e3",
            "someone@",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@@example.com",
            "[x](https://evil.example)@example.com",
            "1234567890123456789",
            "*@example.com",
            "a?b@example.com",
            "${x}@example.com",
        ] {
            assert_eq!(ticket_arg(junk), TicketArg::Invalid, "{junk:?}");
        }
    }

    #[test]
    fn deskstatus_attributes() {
        assert_eq!(status_part(""), Some(StatusPart::All));
        assert_eq!(status_part(" NEW "), Some(StatusPart::New));
        assert_eq!(status_part("closed"), Some(StatusPart::Closed));
        assert_eq!(status_part("Csat"), Some(StatusPart::Csat));
        assert_eq!(status_part("ｔｏｐ"), Some(StatusPart::Top));
        assert_eq!(status_part("everything"), None);
        assert_eq!(status_part("new closed"), None);
    }

    #[test]
    fn bot_phrases_in_any_case_and_both_languages() {
        assert_eq!(phrase("Overdue Tickets"), Some(Phrase::Overdue));
        assert_eq!(phrase("  overdue   TICKETS "), Some(Phrase::Overdue));
        assert_eq!(phrase("期限切れ"), Some(Phrase::Overdue));
        assert_eq!(phrase("Due Today"), Some(Phrase::DueToday));
        assert_eq!(phrase("due today?"), Some(Phrase::DueToday));
        assert_eq!(phrase("今日が期限"), Some(Phrase::DueToday));
        assert_eq!(phrase("Open Tickets"), Some(Phrase::Open));
        assert_eq!(phrase("未完了"), Some(Phrase::Open));
        assert_eq!(phrase("hello"), None);
        assert_eq!(phrase("open the door"), None);
    }
}
