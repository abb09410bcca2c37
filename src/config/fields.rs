//! Reading one value of config.toml: secrets (inline or `*_file`), paths, URLs, Cliq names,
//! action lists.

use std::path::PathBuf;

use super::reader::{Diagnostics, Section, suggest};
use super::{Action, LoadEnv, Secret, SecretSource};

pub(super) struct Ctx<'a> {
    pub(super) base: PathBuf,
    pub(super) env: &'a LoadEnv,
}

impl Ctx<'_> {
    /// Expands `$CREDENTIALS_DIRECTORY` / `${CREDENTIALS_DIRECTORY}` and resolves a relative
    /// path against the config file's directory.
    pub(super) fn resolve(&self, raw: &str) -> Result<PathBuf, String> {
        let mut s = raw.trim().to_string();
        for var in ["${CREDENTIALS_DIRECTORY}", "$CREDENTIALS_DIRECTORY"] {
            if s.contains(var) {
                let dir = self.env.credentials_directory.as_ref().ok_or_else(|| {
                    format!(
                        "uses {var} but CREDENTIALS_DIRECTORY is not set (it is set by systemd \
                         for a unit with LoadCredential=)"
                    )
                })?;
                s = s.replace(var, &dir.to_string_lossy());
            }
        }
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        let p = PathBuf::from(s);
        Ok(if p.is_relative() {
            self.base.join(p)
        } else {
            p
        })
    }
}

/// How a secret's bytes are judged once read.
#[derive(Clone, Copy)]
pub(super) enum SecretKind {
    /// A token or password: text, surrounding whitespace (a file's newline) trimmed.
    Text,
    /// Key material: raw bytes, only a trailing newline trimmed.
    Bytes,
}

/// Reads `key` or `key_file` (exactly one of them).
pub(super) fn secret(
    s: &mut Section<'_>,
    d: &mut Diagnostics,
    ctx: &Ctx<'_>,
    key: &'static str,
    key_file: &'static str,
    kind: SecretKind,
    required: bool,
) -> Option<Secret> {
    let inline_present = s.has(key);
    let file_present = s.has(key_file);
    if inline_present && file_present {
        d.error(
            s.key(key),
            format!("give either `{key}` or `{key_file}`, not both"),
        );
        return None;
    }
    if !inline_present && !file_present {
        if required {
            d.error(
                s.key(key),
                format!("missing (this secret is required: set `{key}` or `{key_file}`)"),
            );
        }
        return None;
    }
    let (bytes, source, report_key) = if inline_present {
        let value = s.string(d, key)?;
        (value.into_bytes(), SecretSource::Inline, s.key(key))
    } else {
        let raw = s.string(d, key_file)?;
        let path = match ctx.resolve(&raw) {
            Ok(p) => p,
            Err(reason) => {
                d.error(s.key(key_file), reason);
                return None;
            }
        };
        match std::fs::read(&path) {
            Ok(bytes) => (bytes, SecretSource::File(path), s.key(key_file)),
            Err(e) => {
                d.error(
                    s.key(key_file),
                    format!("cannot read {}: {}", path.display(), io_reason(&e)),
                );
                return None;
            }
        }
    };
    let bytes = match kind {
        SecretKind::Text => match String::from_utf8(bytes) {
            Ok(text) => text.trim().as_bytes().to_vec(),
            Err(_) => {
                d.error(report_key, "is not UTF-8 text");
                return None;
            }
        },
        SecretKind::Bytes => {
            let mut b = bytes;
            if b.last() == Some(&b'\n') {
                b.pop();
                if b.last() == Some(&b'\r') {
                    b.pop();
                }
            }
            b
        }
    };
    if bytes.is_empty() {
        d.error(report_key, "is empty");
        return None;
    }
    Some(Secret::new(bytes, source))
}

pub(super) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Cliq unique names (channels, bots) as deskcliq accepts them: what appears in
/// `/channelsbyname/{name}/` and `bot_unique_name=`.
pub(super) fn check_unique_name(value: &str, what: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("the {what} unique name must not be empty"));
    }
    if let Some(rest) = value.strip_prefix('#') {
        return Err(format!(
            "`{value}`: write the {what} unique name without `#` (`{}`)",
            rest.to_lowercase()
        ));
    }
    if value.chars().count() > 100 {
        return Err(format!("`{value}` is longer than 100 characters"));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{value}` contains a space; Cliq unique names have none (the unique name of \
             channel \"Support Team\" is `supportteam`)"
        ));
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "`{value}` has capital letters; Cliq unique names are lowercase (`{}`)",
            value.to_lowercase()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| c.is_control() || "/\\?#%&@{}[]<>\"'`:;,*!$=+|^~()".contains(*c))
    {
        return Err(format!(
            "`{value}` contains `{bad}`, which Cliq does not allow in a unique name"
        ));
    }
    Ok(())
}

/// An http(s) base URL, returned without its trailing slash.
pub(super) fn base_url(
    s: &mut Section<'_>,
    d: &mut Diagnostics,
    key: &'static str,
) -> Option<String> {
    let raw = s.string(d, key)?;
    match url::Url::parse(raw.trim()) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => {
            if u.query().is_some() || u.fragment().is_some() {
                d.error(
                    s.key(key),
                    format!("`{raw}` must not have a query or fragment"),
                );
                return None;
            }
            Some(u.as_str().trim_end_matches('/').to_string())
        }
        Ok(_) => {
            d.error(s.key(key), format!("`{raw}` is not an http(s) URL"));
            None
        }
        Err(e) => {
            d.error(s.key(key), format!("`{raw}` is not a URL: {e}"));
            None
        }
    }
}

pub(super) fn read_actions(
    s: &mut Section<'_>,
    d: &mut Diagnostics,
    key: &'static str,
) -> Option<Vec<Action>> {
    let names = s.string_list(d, key)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, name) in names.iter().enumerate() {
        match Action::parse(name.trim()) {
            Some(a) if !out.contains(&a) => out.push(a),
            Some(_) => {}
            None => {
                ok = false;
                let all: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                let hint = suggest(name, &all)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                d.error(
                    format!("{}[{i}]", s.key(key)),
                    format!(
                        "unknown action `{name}`: expected status, assign, reply or comment{hint}"
                    ),
                );
            }
        }
    }
    ok.then_some(out)
}
