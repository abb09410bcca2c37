//! What people type: `narrow`, `ticket_arg`, `status_part` and `phrase` on arbitrary text
//! (bytes read as lossy UTF-8).
//!
//! Invariants: never panics; `narrow` maps full-width forms one to one and is idempotent; a
//! ticket number is 1–18 ASCII digits without a leading zero; an email is ASCII, lower-case,
//! with exactly one `@`, no spaces and none of Desk's search pattern characters, and reads the
//! same wrapped in `<…>` or a mailto link; every parser reads `s` as it reads its narrowed form
//! and ignores spaces around it.
#![no_main]

use deskcliq::commands::args::{TicketArg, narrow, phrase, status_part, ticket_arg, visible};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| check(&String::from_utf8_lossy(data)));

fn check(s: &str) {
    check_narrow(s);
    let narrowed = narrow(s);
    let padded = format!(" \u{3000}{s}\t\u{3000} ");
    let arg = ticket_arg(s);
    assert_eq!(
        arg,
        ticket_arg(&narrowed),
        "ticket_arg before and after narrow"
    );
    assert_eq!(arg, ticket_arg(&padded), "ticket_arg with spaces around");
    match &arg {
        TicketArg::Mine => assert!(visible(&narrowed).split_whitespace().next().is_none()),
        TicketArg::Number(n) => {
            assert!(!n.is_empty() && n.len() <= 18, "number {n:?}");
            assert!(n.bytes().all(|b| b.is_ascii_digit()), "number {n:?}");
            assert!(!n.starts_with('0'), "number {n:?} with a leading zero");
            assert!(n.parse::<u64>().is_ok_and(|v| v > 0), "number {n:?}");
            assert_eq!(ticket_arg(n), arg);
            assert_eq!(ticket_arg(&format!("#{n}")), arg);
        }
        TicketArg::Email(e) => {
            assert!(e.is_ascii() && e.len() <= 254, "email {e:?}");
            assert_eq!(e.matches('@').count(), 1, "email {e:?}");
            assert_eq!(e, &e.to_ascii_lowercase(), "email {e:?} not lower-case");
            assert!(!e.chars().any(char::is_whitespace), "email {e:?}");
            assert!(!e.contains(['*', '?', '{', '}', '$']), "email {e:?}");
            let (local, domain) = e.split_once('@').unwrap_or_default();
            assert!(!local.is_empty() && domain.contains('.'), "email {e:?}");
            assert_eq!(ticket_arg(e), arg);
            assert_eq!(ticket_arg(&e.to_ascii_uppercase()), arg);
            assert_eq!(ticket_arg(&format!("<{e}>")), arg);
            assert_eq!(ticket_arg(&format!("[{e}](mailto:{e})")), arg);
        }
        TicketArg::Invalid => {}
    }
    let part = status_part(s);
    assert_eq!(
        part,
        status_part(&narrowed),
        "status_part before and after narrow"
    );
    assert_eq!(part, status_part(&padded), "status_part with spaces around");
    if part.is_some() {
        let word = narrowed.trim().to_ascii_lowercase();
        assert!(
            ["", "new", "closed", "csat", "top"].contains(&word.as_str()),
            "status part {word:?}"
        );
    }
    let p = phrase(s);
    assert_eq!(p, phrase(&narrowed), "phrase before and after narrow");
    assert_eq!(p, phrase(&padded), "phrase with spaces around");
}

fn check_narrow(s: &str) {
    let n = narrow(s);
    assert_eq!(
        s.chars().count(),
        n.chars().count(),
        "narrow changed the length"
    );
    for (a, b) in s.chars().zip(n.chars()) {
        let expected = match a {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(a as u32 - 0xFEE0).unwrap_or(a),
            '\u{3000}' => ' ',
            c => c,
        };
        assert_eq!(b, expected, "narrow({a:?})");
    }
    assert!(
        !n.chars()
            .any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3000}')
    );
    assert_eq!(narrow(&n), n, "narrow is not idempotent");
}
