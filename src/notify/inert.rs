//! Customer text made inert: nothing a customer writes (subjects, names, comments) can ping a
//! channel, mention someone, form a link or restyle a card.
//!
//! Cliq documents no escape character, so the characters that carry meaning are swapped for
//! look-alikes that carry none: `{` `}` (mentions `{@…}`, `{#…}`), `[` `]` `(` `)` (links
//! `[t](u)`, silent mentions `[n](zohoid:…)`), `*` `_` `~` `` ` `` (formatting), and the `:`
//! of `://`, the `.` of `www.`, and the dots of anything shaped like a host name
//! (`evil.example/login`): bare URLs that clients link by themselves.

/// `s` with every markup character replaced, control characters removed, and at most
/// `max_chars` characters ("…" when cut).
pub fn inert(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len());
    // Controls and invisible format characters (zero-width, bidi overrides, soft hyphen) go
    // first: they could split a pattern past the replacements below, or reorder the text.
    let chars: Vec<char> = s
        .chars()
        .filter(|c| matches!(c, '\n' | '\t') || !(c.is_control() || is_invisible(*c)))
        .collect();
    let host_dots = host_dots(&chars);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next_is = |off: usize, want: &str| {
            want.chars().enumerate().all(|(k, w)| {
                chars
                    .get(i + off + k)
                    .is_some_and(|c| c.eq_ignore_ascii_case(&w))
            })
        };
        let replaced = match c {
            '{' => '｛',
            '}' => '｝',
            '[' => '［',
            ']' => '］',
            '(' => '（',
            ')' => '）',
            '*' => '∗',
            '_' => '＿',
            '~' => '～',
            '`' => 'ˋ',
            '<' => '‹',
            '>' => '›',
            ':' if next_is(1, "//") => '：',
            '.' if host_dots[i] => '․',
            '.' if i >= 3
                && chars[i - 3..i]
                    .iter()
                    .collect::<String>()
                    .eq_ignore_ascii_case("www") =>
            {
                '․'
            }
            '\n' | '\t' => ' ',
            c => c,
        };
        out.push(replaced);
        i += 1;
    }
    crate::cliq::message::truncate(out.trim(), max_chars)
}

/// For each character, whether it is a dot between two labels of a run shaped like a host
/// name: labels of letters, digits and `-`, the last of at least two letters (`evil.example`,
/// `support.co.jp`, `例え.jp`). Version numbers (`1.2.3`), `e.g.` and the domain of an e-mail
/// address are left alone.
fn host_dots(chars: &[char]) -> Vec<bool> {
    let label = |c: char| c.is_alphanumeric() || c == '-';
    let mut out = vec![false; chars.len()];
    let mut start = 0;
    while start < chars.len() {
        if !(label(chars[start]) || chars[start] == '.') {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < chars.len() && (label(chars[end]) || chars[end] == '.') {
            end += 1;
        }
        let run = &chars[start..end];
        let labels: Vec<&[char]> = run.split(|c| *c == '.').filter(|l| !l.is_empty()).collect();
        let tld_like = labels
            .last()
            .is_some_and(|l| l.len() >= 2 && l.iter().all(|c| c.is_alphabetic()));
        // The domain of an e-mail address stays as written: agents read and copy addresses
        // (a reply's recipient, `/ticket a@b.jp`), and a mailto link leads nowhere harmful.
        let in_address = start > 0 && chars[start - 1] == '@';
        if labels.len() >= 2 && tld_like && !in_address {
            for k in 1..run.len().saturating_sub(1) {
                if run[k] == '.' && label(run[k - 1]) && label(run[k + 1]) {
                    out[start + k] = true;
                }
            }
        }
        start = end;
    }
    out
}

/// Characters that render as nothing or reorder text: the Unicode format (Cf) characters
/// (tag characters and musical and shorthand format controls included), the combining
/// grapheme joiner and the Hangul fillers, which show as blank. Variation selectors stay:
/// emoji need them, and alone they show nothing to hide.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0x3164 | 0xFEFF | 0xFFA0
        | 0xFFF9..=0xFFFB | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE007F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_mentions_links_and_formatting_become_plain_text() {
        let s = inert(
            "{@all} *urgent* [click](https://evil.example) {#C1} _x_ ~y~ `z`",
            200,
        );
        for bad in ["{@", "{#", "[", "](", "*", "://", "_", "~", "`"] {
            assert!(!s.contains(bad), "{bad} survived in {s}");
        }
        assert!(s.contains("urgent") && s.contains("evil"));
        assert!(!inert("see www.evil.example", 100).contains("www."));
        assert!(!inert("[Sato](zohoid:123)", 100).contains("]("));
        // Invisible characters cannot split a pattern past the replacements.
        assert!(!inert("https:\u{200B}//evil.example", 100).contains("://"));
        assert!(!inert("www\u{200B}.evil.example", 100).contains("www."));
        assert!(!inert("abc\u{202E}def", 100).contains('\u{202E}'));
    }

    #[test]
    fn tag_characters_and_blank_fillers_cannot_split_a_link_either() {
        for hidden in [
            '\u{E0020}',
            '\u{E0001}',
            '\u{3164}',
            '\u{034F}',
            '\u{1D173}',
        ] {
            let s = inert(&format!("https:{hidden}//evil.example"), 100);
            assert_eq!(s, "https：//evil․example", "{hidden:?}");
            let s = inert(&format!("www{hidden}.evil.example"), 100);
            assert_eq!(s, "www․evil․example", "{hidden:?}");
        }
        // Emoji keep their variation selectors.
        assert_eq!(inert("❤\u{FE0F}", 10), "❤\u{FE0F}");
    }

    #[test]
    fn bare_host_names_and_addresses_cannot_form_a_link() {
        for (raw, want) in [
            (
                "visit evil.example/login now",
                "visit evil․example/login now",
            ),
            ("see support.co.jp/faq", "see support․co․jp/faq"),
            ("例え.jp を見て", "例え․jp を見て"),
            ("EVIL.COM.", "EVIL․COM."),
        ] {
            assert_eq!(inert(raw, 100), want);
        }
        // Dots that no client links stay dots.
        for plain in [
            "version 1.2.3",
            "e.g. this",
            "end of sentence. Next",
            "3.5 hours",
            "from sato@support.co.jp",
        ] {
            assert_eq!(inert(plain, 100), plain);
        }
    }

    #[test]
    fn plain_japanese_text_is_unchanged_and_long_text_is_cut() {
        assert_eq!(
            inert("プリンターが燃えています", 100),
            "プリンターが燃えています"
        );
        let long = inert(&"あ".repeat(300), 100);
        assert_eq!(long.chars().count(), 100);
        assert!(long.ends_with('…'));
        assert_eq!(inert("a\nb\u{7}c", 10), "a bc");
    }
}
