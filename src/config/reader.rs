//! A reader over a parsed TOML document that records *every* problem with its key path,
//! instead of stopping at the first one as serde would.

use std::fmt;
use std::sync::LazyLock;

use toml::Value;

/// One problem (or warning) about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Dotted key path, e.g. `departments[1].channel`; `(file)` for the file as a whole.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Errors and warnings collected while reading a config file.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl Diagnostics {
    pub fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Issue {
            key: key.into(),
            message: message.into(),
        });
    }

    pub fn warn(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Issue {
            key: key.into(),
            message: message.into(),
        });
    }
}

static EMPTY: LazyLock<toml::Table> = LazyLock::new(toml::Table::new);

/// One table of the document. Every getter records the key as known, so that
/// [`Section::finish`] can report the keys nobody asked for.
pub struct Section<'t> {
    path: String,
    table: &'t toml::Table,
    known: Vec<&'static str>,
}

impl<'t> Section<'t> {
    pub fn root(table: &'t toml::Table) -> Self {
        Section {
            path: String::new(),
            table,
            known: Vec::new(),
        }
    }

    /// The full path of `key` in this section.
    pub fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn has(&mut self, key: &'static str) -> bool {
        self.known.push(key);
        self.table.contains_key(key)
    }

    fn get(&mut self, key: &'static str) -> Option<&'t Value> {
        self.known.push(key);
        self.table.get(key)
    }

    fn wrong_type(&self, d: &mut Diagnostics, key: &str, want: &str, got: &Value) {
        d.error(
            self.key(key),
            format!("expected {want}, found {}", describe(got)),
        );
    }

    /// A string, if present. A value of another type is an error.
    pub fn string(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(d, key, "a string", other);
                None
            }
        }
    }

    /// A string that must be present and non-empty.
    pub fn required_string(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<String> {
        let present = self.table.contains_key(key);
        match self.string(d, key) {
            Some(s) if s.trim().is_empty() => {
                d.error(self.key(key), "must not be empty");
                None
            }
            Some(s) => Some(s.trim().to_string()),
            None => {
                if !present {
                    d.error(self.key(key), "missing (this key is required)");
                }
                None
            }
        }
    }

    /// An identifier Zoho sends as a number in a string: accepts `"123"` or `123`.
    pub fn numeric_id(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<String> {
        let value = match self.get(key) {
            None => return None,
            Some(Value::Integer(i)) if *i > 0 => i.to_string(),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(other) => {
                self.wrong_type(d, key, "a numeric id (string or integer)", other);
                return None;
            }
        };
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            d.error(
                self.key(key),
                format!("`{value}` is not a Zoho id (digits only, e.g. \"54983163\")"),
            );
            return None;
        }
        Some(value)
    }

    pub fn required_numeric_id(
        &mut self,
        d: &mut Diagnostics,
        key: &'static str,
    ) -> Option<String> {
        if !self.table.contains_key(key) {
            self.known.push(key);
            d.error(self.key(key), "missing (this key is required)");
            return None;
        }
        self.numeric_id(d, key)
    }

    pub fn bool(&mut self, d: &mut Diagnostics, key: &'static str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(other) => {
                self.wrong_type(d, key, "true or false", other);
                default
            }
        }
    }

    /// An integer in `min..=max`; `default` when absent or wrong (the error is recorded).
    pub fn uint(
        &mut self,
        d: &mut Diagnostics,
        key: &'static str,
        default: u32,
        min: u32,
        max: u32,
    ) -> u32 {
        match self.get(key) {
            None => default,
            Some(Value::Integer(i)) => match u32::try_from(*i) {
                Ok(v) if (min..=max).contains(&v) => v,
                _ => {
                    d.error(
                        self.key(key),
                        format!("{i} is out of range: must be between {min} and {max}"),
                    );
                    default
                }
            },
            Some(other) => {
                self.wrong_type(d, key, "an integer", other);
                default
            }
        }
    }

    /// An array of integers, each in `min..=max`.
    pub fn uint_list(
        &mut self,
        d: &mut Diagnostics,
        key: &'static str,
        min: u32,
        max: u32,
    ) -> Option<Vec<u32>> {
        let items = match self.get(key)? {
            Value::Array(items) => items,
            other => {
                self.wrong_type(d, key, "an array of integers", other);
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_key = format!("{}[{i}]", self.key(key));
            match item {
                Value::Integer(n) => match u32::try_from(*n) {
                    Ok(v) if (min..=max).contains(&v) => out.push(v),
                    _ => {
                        ok = false;
                        d.error(
                            item_key,
                            format!("{n} is out of range: must be between {min} and {max}"),
                        );
                    }
                },
                other => {
                    ok = false;
                    d.error(
                        item_key,
                        format!("expected an integer, found {}", describe(other)),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// An array of strings.
    pub fn string_list(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Vec<String>> {
        let items = match self.get(key)? {
            Value::Array(items) => items,
            other => {
                self.wrong_type(d, key, "an array of strings", other);
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => {
                    ok = false;
                    d.error(
                        format!("{}[{i}]", self.key(key)),
                        format!("expected a string, found {}", describe(other)),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// A sub-table; an empty one when absent (so its keys take their defaults).
    pub fn section(&mut self, d: &mut Diagnostics, key: &'static str) -> Section<'t> {
        let path = self.key(key);
        let table = match self.get(key) {
            Some(Value::Table(t)) => t,
            Some(other) => {
                self.wrong_type(d, key, "a table", other);
                &EMPTY
            }
            None => &EMPTY,
        };
        Section {
            path,
            table,
            known: Vec::new(),
        }
    }

    /// An array of tables (`[[departments]]`).
    pub fn table_array(&mut self, d: &mut Diagnostics, key: &'static str) -> Vec<Section<'t>> {
        let base = self.key(key);
        let items = match self.get(key) {
            None => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.wrong_type(d, key, "an array of tables ([[...]])", other);
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::Table(table) => out.push(Section {
                    path: format!("{base}[{i}]"),
                    table,
                    known: Vec::new(),
                }),
                other => d.error(
                    format!("{base}[{i}]"),
                    format!("expected a table, found {}", describe(other)),
                ),
            }
        }
        out
    }

    /// Reports every key of this table that no getter asked for, with the nearest known key.
    pub fn finish(self, d: &mut Diagnostics) {
        for key in self.table.keys() {
            if self.known.iter().any(|k| k == key) {
                continue;
            }
            let message = match suggest(key, &self.known) {
                Some(near) => format!("unknown key; did you mean `{}`?", self.key(near)),
                None => format!(
                    "unknown key; known keys here: {}",
                    if self.known.is_empty() {
                        "none".to_string()
                    } else {
                        self.known.join(", ")
                    }
                ),
            };
            d.error(self.key(key), message);
        }
    }
}

/// The candidate nearest to `word`, if it is near enough to be a plausible typo.
pub fn suggest<'a, S: AsRef<str>>(word: &str, candidates: &'a [S]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| {
            (
                c.as_ref(),
                strsim::damerau_levenshtein(&lower, &c.as_ref().to_lowercase()),
            )
        })
        .filter(|(c, dist)| *dist <= (c.chars().count() / 3).max(2))
        .min_by_key(|(_, dist)| *dist)
        .map(|(c, _)| c)
}

/// The type of a value, never the value itself: the key may hold a secret.
fn describe(v: &Value) -> String {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number with a fraction",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggest_finds_near_typos_only() {
        let known = ["created", "closed", "reopened"];
        assert_eq!(suggest("craeted", &known), Some("created"));
        assert_eq!(suggest("closd", &known), Some("closed"));
        assert_eq!(suggest("department", &known), None);
    }
}
