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

/// Whether `c` is a Unicode format character people paste without seeing it: zero-width
/// space and joiners, direction marks, word joiner, BOM, soft hyphen…
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// `s` without its invisible format characters.
pub fn visible(s: &str) -> String {
    s.chars().filter(|c| !is_invisible(*c)).collect()
}

/// `s` without a leading `mailto:` (any case), when it has one.
fn strip_mailto(s: &str) -> Option<&str> {
    s.get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .and_then(|_| s.get(7..))
        .map(str::trim)
}

/// An address as Cliq or a paste may wrap it: `<a@b.jp>`, `[a@b.jp](mailto:a@b.jp)` (only
/// when the text is the address), `mailto:a@b.jp`. Anything else is returned as it is.
fn unwrap_address(s: &str) -> &str {
    let mut s = s.trim();
    if let Some(inner) = s
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        s = inner;
    }
    if let Some((text, link)) = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| r.split_once("]("))
        && let Some(target) = strip_mailto(link.trim())
    {
        let text = text.trim();
        if !target.is_empty()
            && strip_mailto(text)
                .unwrap_or(text)
                .eq_ignore_ascii_case(target)
        {
            s = target;
        }
    }
    strip_mailto(s).filter(|a| !a.is_empty()).unwrap_or(s)
}

/// Whitespace runs as one space, trimmed.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `/ticket`'s argument: invisible format characters dropped, full-width forms narrowed, and
/// an address unwrapped from `<…>`, a `[…](mailto:…)` link or `mailto:` first.
pub fn ticket_arg(input: &str) -> TicketArg {
    let s = squeeze(&narrow(&visible(input)));
    if s.is_empty() {
        return TicketArg::Mine;
    }
    let s = unwrap_address(&s).to_string();
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
    fn ticket_argument_unwraps_brackets_mailto_links_and_invisible_characters() {
        let email = |s: &str| TicketArg::Email(s.into());
        for wrapped in [
            "<a@b.jp>",
            " < a@b.jp > ",
            "＜ａ＠ｂ．ｊｐ＞",
            "mailto:a@b.jp",
            "MAILTO:A@B.JP",
            "<mailto:a@b.jp>",
            "[a@b.jp](mailto:a@b.jp)",
            "[A@B.jp](mailto:a@b.jp)",
            "[mailto:a@b.jp](mailto:a@b.jp)",
            "<[a@b.jp](mailto:a@b.jp)>",
            "\u{200B}a@b.jp",
            "\u{FEFF}<a@b.jp>\u{200B}",
            "a\u{200D}@b.jp\u{2060}",
        ] {
            assert_eq!(ticket_arg(wrapped), email("a@b.jp"), "{wrapped:?}");
        }
        assert_eq!(ticket_arg("<#115>"), TicketArg::Number("115".into()));
        assert_eq!(ticket_arg("1\u{200B}15"), TicketArg::Number("115".into()));
        assert_eq!(ticket_arg("\u{200B}\u{FEFF}"), TicketArg::Mine);
        for junk in [
            "<>",
            "< >",
            "mailto:",
            "<a@b.jp",
            "a@b.jp>",
            "[a@b.jp](mailto:evil@x.jp)",
            "[a@b.jp](https://evil.example)",
            "[click](mailto:a@b.jp)",
            "mailto:a@b.jp?subject=x",
            "<<a@b.jp>>",
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
