//! Secrets from config.toml: given inline or read from a `NAME_file`, never printed.

use std::fmt;
use std::path::PathBuf;

/// Where a secret came from: shown by `check-config` instead of the value.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    Inline,
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Inline => f.write_str("set inline"),
            SecretSource::File(p) => write!(f, "read from {}", p.display()),
        }
    }
}

/// A secret value. `Debug` and `Display` never show it; use [`Secret::expose`] at the one
/// place that sends it to Zoho or uses it as key material.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: Vec<u8>,
    source: SecretSource,
}

impl Secret {
    pub fn new(bytes: Vec<u8>, source: SecretSource) -> Self {
        Secret { bytes, source }
    }

    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The secret as text, for tokens (always UTF-8 when they pass validation).
    pub fn expose_str(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted], {})", self.source)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new(b"hunter2-secret".to_vec(), SecretSource::Inline);
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert_eq!(s.expose_str(), "hunter2-secret");
    }
}
