//! Cliq's message JSON, built through constructors that keep within Cliq's limits by
//! truncating visibly ("…"), so nothing fails at send time.

use serde::Serialize;

/// `text` ≤ 5,000 characters (some Zoho pages say 10,000: we stay at 5,000).
pub const TEXT_MAX: usize = 5_000;
/// `card.title` ≤ 200.
pub const CARD_TITLE_MAX: usize = 200;
/// At most 5 buttons a message.
pub const BUTTONS_MAX: usize = 5;
/// Button `label` ≤ 20 (the cards page says 30; 20 fits both).
pub const BUTTON_LABEL_MAX: usize = 20;
/// Button `key` ≤ 100, `hint` ≤ 100, `open.url` ≤ 256.
pub const BUTTON_KEY_MAX: usize = 100;
pub const BUTTON_HINT_MAX: usize = 100;
pub const URL_MAX: usize = 256;
/// At most 20 slides, 10,000 characters in all.
pub const SLIDES_MAX: usize = 20;
pub const SLIDES_CHARS_MAX: usize = 10_000;

const ELLIPSIS: char = '…';

/// The length of `s` as Cliq's limits count it. Zoho states them in characters; its servers
/// count a character outside the Basic Multilingual Plane (most emoji) as two, a JSON-schema
/// check counts it as one. Counted in UTF-16 units, a length within a limit is within it under
/// both readings; Japanese text counts one a character either way.
pub fn cliq_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `s` cut to `max` characters as [`cliq_len`] counts them, on a character boundary, the
/// last being "…" when anything was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if cliq_len(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(ELLIPSIS.len_utf16());
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        used += c.len_utf16();
        if used > room {
            break;
        }
        out.push(c);
    }
    out.push(ELLIPSIS);
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BotInfo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    pub title: String,
    pub theme: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum ButtonAction {
    /// Runs a Cliq function (ours is `deskaction`).
    #[serde(rename = "invoke.function")]
    InvokeFunction { name: String },
    #[serde(rename = "open.url")]
    OpenUrl { web: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    pub label: String,
    /// `+` (green) or `-` (red).
    #[serde(rename = "type")]
    pub kind: String,
    pub action: ButtonAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Button {
    /// A button that invokes `function` with `key` (e.g. `status:<ticketId>`).
    pub fn invoke(label: &str, function: &str, key: &str) -> Button {
        Button {
            label: truncate(label, BUTTON_LABEL_MAX),
            kind: "+".into(),
            action: ButtonAction::InvokeFunction {
                name: function.to_string(),
            },
            key: Some(truncate(key, BUTTON_KEY_MAX)),
            hint: None,
        }
    }

    /// A button that opens `url`. A URL longer than Cliq allows cannot be cut without
    /// breaking it, so it is refused (`None`).
    pub fn open_url(label: &str, url: &str) -> Option<Button> {
        if cliq_len(url) > URL_MAX {
            return None;
        }
        Some(Button {
            label: truncate(label, BUTTON_LABEL_MAX),
            kind: "+".into(),
            action: ButtonAction::OpenUrl {
                web: url.to_string(),
            },
            key: None,
            hint: None,
        })
    }

    pub fn with_hint(mut self, hint: &str) -> Button {
        self.hint = Some(truncate(hint, BUTTON_HINT_MAX));
        self
    }
}

/// A label slide's pair. Zoho's samples write `{"Key": "Value"}`; the spec `{label, value}` [?]:
/// we send the samples' form, which Cliq renders.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPair {
    pub label: String,
    pub value: String,
}

impl Serialize for LabelPair {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(&self.label, &self.value)?;
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableData {
    pub headers: Vec<String>,
    /// Each row keyed by header.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Slide {
    Table {
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        data: TableData,
    },
    List {
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        data: Vec<String>,
    },
    Label {
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        data: Vec<LabelPair>,
    },
    Text {
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        data: String,
    },
}

impl Slide {
    pub fn table(title: Option<&str>, headers: &[&str], rows: Vec<Vec<String>>) -> Slide {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let rows = rows
            .into_iter()
            .map(|cells| {
                headers
                    .iter()
                    .cloned()
                    .zip(cells.into_iter().map(serde_json::Value::String))
                    .collect()
            })
            .collect();
        Slide::Table {
            title: title.map(str::to_string),
            data: TableData { headers, rows },
        }
    }

    pub fn list(title: Option<&str>, items: Vec<String>) -> Slide {
        Slide::List {
            title: title.map(str::to_string),
            data: items,
        }
    }

    pub fn label(title: Option<&str>, pairs: Vec<(String, String)>) -> Slide {
        Slide::Label {
            title: title.map(str::to_string),
            data: pairs
                .into_iter()
                .map(|(label, value)| LabelPair { label, value })
                .collect(),
        }
    }

    pub fn text(title: Option<&str>, text: &str) -> Slide {
        Slide::Text {
            title: title.map(str::to_string),
            data: text.to_string(),
        }
    }

    /// Characters this slide counts against the 10,000 of a message.
    fn chars(&self) -> usize {
        serde_json::to_string(self)
            .map(|s| cliq_len(&s))
            .unwrap_or(0)
    }

    /// The slide shortened to at most `budget` characters, or `None` when it cannot be.
    fn shrink_to(self, budget: usize) -> Option<Slide> {
        if self.chars() <= budget {
            return Some(self);
        }
        match self {
            Slide::Text { title, data } => {
                let overhead = Slide::Text {
                    title: title.clone(),
                    data: String::new(),
                }
                .chars();
                (budget > overhead + 1).then(|| Slide::Text {
                    title,
                    data: truncate(&data, budget - overhead),
                })
            }
            Slide::List { title, mut data } => {
                while !data.is_empty() {
                    data.pop();
                    let candidate = Slide::List {
                        title: title.clone(),
                        data: data.iter().cloned().chain(["…".to_string()]).collect(),
                    };
                    if candidate.chars() <= budget {
                        return Some(candidate);
                    }
                }
                None
            }
            Slide::Table { title, mut data } => {
                while !data.rows.is_empty() {
                    data.rows.pop();
                    let candidate = Slide::Table {
                        title: title.clone(),
                        data: data.clone(),
                    };
                    if candidate.chars() <= budget {
                        return Some(candidate);
                    }
                }
                None
            }
            Slide::Label { title, mut data } => {
                while !data.is_empty() {
                    data.pop();
                    let candidate = Slide::Label {
                        title: title.clone(),
                        data: data.clone(),
                    };
                    if candidate.chars() <= budget {
                        return Some(candidate);
                    }
                }
                None
            }
        }
    }
}

/// A Cliq message. Build it with [`Message::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slides: Vec<Slide>,
}

impl Message {
    /// A message with `text` (Cliq refuses an empty text: it becomes "…").
    pub fn new(text: &str) -> Message {
        let text = if text.trim().is_empty() { "…" } else { text };
        Message {
            text: truncate(text, TEXT_MAX),
            bot: None,
            card: None,
            buttons: Vec::new(),
            slides: Vec::new(),
        }
    }

    pub fn with_bot(mut self, name: &str, image: Option<&str>) -> Message {
        self.bot = Some(BotInfo {
            name: name.to_string(),
            image: image.map(str::to_string),
        });
        self
    }

    pub fn with_card(mut self, title: &str, theme: &str) -> Message {
        self.card = Some(Card {
            title: truncate(title, CARD_TITLE_MAX),
            theme: theme.to_string(),
            thumbnail: None,
        });
        self
    }

    /// Adds a button; past the fifth, buttons are dropped (with a log line) rather than
    /// making Cliq refuse the whole message.
    pub fn with_button(mut self, button: Button) -> Message {
        if self.buttons.len() < BUTTONS_MAX {
            self.buttons.push(button);
        } else {
            tracing::debug!(label = %button.label, "more than {BUTTONS_MAX} buttons: dropped");
        }
        self
    }

    /// Adds a slide; past 20 slides or 10,000 characters (of the `slides` array's JSON) the
    /// slide is shortened (rows and items cut, text truncated with "…") or, when nothing
    /// fits, left out.
    pub fn with_slide(mut self, slide: Slide) -> Message {
        if self.slides.len() >= SLIDES_MAX {
            tracing::debug!("more than {SLIDES_MAX} slides: dropped");
            return self;
        }
        // Cliq counts the `slides` array as sent: its brackets and the comma before each
        // further slide count too.
        let used: usize =
            self.slides.iter().map(Slide::chars).sum::<usize>() + 2 + self.slides.len();
        let budget = SLIDES_CHARS_MAX.saturating_sub(used);
        if let Some(s) = slide.shrink_to(budget) {
            self.slides.push(s);
        }
        self
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_visibly_at_5000_characters() {
        let m = Message::new(&"あ".repeat(6000));
        assert_eq!(m.text.chars().count(), TEXT_MAX);
        assert!(m.text.ends_with('…'));
        assert_eq!(Message::new("short").text, "short");
    }

    #[test]
    fn emoji_count_twice_so_no_limit_is_crossed_as_cliqs_servers_count() {
        let units = |s: &str| s.encode_utf16().count();
        let m = Message::new(&"🔥".repeat(6000))
            .with_card(&format!("#115 {}", "🎉".repeat(300)), "modern-inline")
            .with_button(Button::invoke(&"🙏".repeat(30), "deskaction", "status:1"))
            .with_slide(Slide::text(None, &"😀".repeat(9000)));
        assert!(units(&m.text) <= TEXT_MAX, "{}", units(&m.text));
        assert!(m.text.ends_with("🔥…"));
        let title = &m.card.as_ref().unwrap().title;
        assert!(units(title) <= CARD_TITLE_MAX, "{}", units(title));
        assert!(units(&m.buttons[0].label) <= BUTTON_LABEL_MAX);
        let slides: usize = m
            .slides
            .iter()
            .map(|s| units(&serde_json::to_string(s).unwrap()))
            .sum();
        assert!(slides <= SLIDES_CHARS_MAX, "{slides}");
        // Japanese counts one a character, as before.
        assert_eq!(truncate(&"あ".repeat(10), 5), "ああああ…");
    }

    #[test]
    fn at_most_five_buttons_with_short_labels() {
        let mut m = Message::new("x");
        for i in 0..7 {
            m = m.with_button(Button::invoke(
                "Change the status of this ticket",
                "deskaction",
                &format!("status:{i}"),
            ));
        }
        assert_eq!(m.buttons.len(), BUTTONS_MAX);
        assert!(
            m.buttons
                .iter()
                .all(|b| b.label.chars().count() <= BUTTON_LABEL_MAX)
        );
        assert!(m.buttons[0].label.ends_with('…'));
        assert!(Button::open_url("Open", &format!("https://x/{}", "a".repeat(300))).is_none());
    }

    #[test]
    fn slides_stay_within_twenty_and_ten_thousand_characters() {
        let mut m = Message::new("x");
        for _ in 0..25 {
            m = m.with_slide(Slide::text(Some("t"), "short"));
        }
        assert_eq!(m.slides.len(), SLIDES_MAX);

        let rows: Vec<Vec<String>> = (0..500)
            .map(|i| vec![i.to_string(), "件名".repeat(10)])
            .collect();
        let m = Message::new("x").with_slide(Slide::table(Some("Open"), &["#", "Subject"], rows));
        let Slide::Table { data, .. } = &m.slides[0] else {
            panic!("not a table")
        };
        assert!(
            data.rows.len() > 10 && data.rows.len() < 500,
            "{}",
            data.rows.len()
        );
        assert!(m.slides[0].chars() <= SLIDES_CHARS_MAX);

        let m = Message::new("x")
            .with_slide(Slide::list(Some("l"), vec!["item".into(); 10]))
            .with_slide(Slide::text(None, &"y".repeat(20_000)));
        let total: usize = m.slides.iter().map(Slide::chars).sum();
        assert!(total <= SLIDES_CHARS_MAX, "{total}");
        let Slide::Text { data, .. } = &m.slides[1] else {
            panic!("not a text slide")
        };
        assert!(data.ends_with('…'));
    }

    #[test]
    fn message_json_has_cliqs_shape() {
        let m = Message::new("*#115* Printer on fire")
            .with_bot("Deskbot", None)
            .with_card("Ticket #115", "modern-inline")
            .with_button(Button::invoke("Change status", "deskaction", "status:1892"))
            .with_slide(Slide::label(None, vec![("Status".into(), "Open".into())]));
        let v = m.to_json();
        assert_eq!(v["bot"]["name"], "Deskbot");
        assert_eq!(v["card"]["theme"], "modern-inline");
        assert_eq!(v["buttons"][0]["action"]["type"], "invoke.function");
        assert_eq!(v["buttons"][0]["action"]["data"]["name"], "deskaction");
        assert_eq!(v["buttons"][0]["key"], "status:1892");
        assert_eq!(v["buttons"][0]["type"], "+");
        assert_eq!(v["slides"][0]["type"], "label");
        assert_eq!(v["slides"][0]["data"][0]["Status"], "Open");
    }
}
