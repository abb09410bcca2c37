//! Lenient decoding of Desk's JSON: ids and counts as strings or numbers, flags as booleans
//! or "true"/"false", times as ISO-8601 or epoch milliseconds, enums as "X" or ["X"].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An id: `"123"`, `123`, or absent/null/"" (→ `None`).
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_id(
        &Option::<Value>::deserialize(d)?.unwrap_or(Value::Null),
    ))
}

/// See [`id`].
pub fn value_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A required id; an unusable value becomes "".
pub fn id_req<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    id(d).map(Option::unwrap_or_default)
}

/// A list of ids, each a string or a number.
pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// A count: `3`, `"3"`, or absent (→ `None`). Negative counts (Zoho's `"-1"`) are `None`.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(value_count(
        &Option::<Value>::deserialize(d)?.unwrap_or(Value::Null),
    ))
}

pub fn value_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A flag: `true`, `"true"`, `1`; anything else is false.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(value_flag(
        &Option::<Value>::deserialize(d)?.unwrap_or(Value::Null),
    ))
}

/// See [`flag`].
pub fn value_flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// A time Desk sent that deskcliq cannot read (as opposed to Zoho's "unset").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable time {0}")]
pub struct UnreadableTime(pub String);

/// A time: `"2016-05-25T10:06:09.686Z"`, `1466514974000`, `"1466514974000"`; null, "" or 0
/// (Zoho's "unset") or an unreadable value → `None`.
pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(value_time(
        &Option::<Value>::deserialize(d)?.unwrap_or(Value::Null),
    ))
}

/// [`read_time`], with an unreadable value taken as unset.
pub fn value_time(v: &Value) -> Option<DateTime<Utc>> {
    read_time(v).ok().flatten()
}

/// A time as Desk sends it: ISO-8601 (`2016-05-25T10:06:09.686Z`, `…+09:00`, `…+0000`, or
/// without a zone, read as UTC) or epoch milliseconds (number or string). `Ok(None)` for
/// Zoho's "unset" (null, "", 0); `Err` for a value present but unreadable, which a caller
/// holding an older value should keep rather than clear.
pub fn read_time(v: &Value) -> Result<Option<DateTime<Utc>>, UnreadableTime> {
    let unreadable = || UnreadableTime(v.to_string());
    let from_ms = |ms: i64| match ms {
        0 => Ok(None),
        ms if ms > 0 => DateTime::from_timestamp_millis(ms)
            .map(Some)
            .ok_or_else(unreadable),
        _ => Err(unreadable()),
    };
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().ok_or_else(unreadable).and_then(from_ms),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else if let Ok(ms) = s.parse::<i64>() {
                from_ms(ms)
            } else {
                iso_time(s).map(Some).ok_or_else(unreadable)
            }
        }
        _ => Err(unreadable()),
    }
}

/// RFC 3339, then the forms Zoho also writes: an offset without a colon
/// (`2021-04-15T13:34:27.000+0000`) and no zone at all (read as UTC).
fn iso_time(s: &str) -> Option<DateTime<Utc>> {
    const ZONED: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"];
    const NAIVE: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"];
    DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| {
            ZONED
                .iter()
                .find_map(|f| DateTime::parse_from_str(s, f).ok())
        })
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            NAIVE
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
                .map(|t| t.and_utc())
        })
}

/// [`text`], with null or absent read as "" (Zoho's schemas allow null for names and URLs).
pub fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(text(d)?.unwrap_or_default())
}

/// A string that Zoho's samples sometimes wrap in a one-element array.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(items)) => items.first().and_then(|v| v.as_str()).map(str::to_string),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_come_as_iso_or_epoch_milliseconds() {
        let iso = value_time(&Value::String("2016-05-25T10:06:09.686Z".into())).unwrap();
        assert_eq!(iso.timestamp_millis(), 1_464_170_769_686);
        assert_eq!(
            value_time(&serde_json::json!(1_464_170_769_686i64)),
            Some(iso)
        );
        assert_eq!(
            value_time(&Value::String("1464170769686".into())),
            Some(iso)
        );
        assert_eq!(value_time(&serde_json::json!(0)), None);
        assert_eq!(value_time(&Value::Null), None);
    }

    #[test]
    fn times_with_an_offset_without_colon_or_without_a_zone_are_read() {
        let utc = value_time(&Value::String("2021-04-15T13:34:27.000Z".into())).unwrap();
        for form in [
            "2021-04-15T13:34:27.000+0000",
            "2021-04-15T13:34:27+0000",
            "2021-04-15T22:34:27.000+0900",
            "2021-04-15T22:34:27+09:00",
            "2021-04-15T13:34:27",
            "2021-04-15T13:34:27.000",
            "2021-04-15 13:34:27",
        ] {
            assert_eq!(value_time(&Value::String(form.into())), Some(utc), "{form}");
        }
    }

    #[test]
    fn an_unreadable_time_is_an_error_and_unset_is_none() {
        for unset in [Value::Null, serde_json::json!(""), serde_json::json!(0)] {
            assert_eq!(read_time(&unset), Ok(None));
        }
        for bad in [
            serde_json::json!("next tuesday"),
            serde_json::json!("2021-13-45T99:00:00Z"),
            serde_json::json!(true),
            serde_json::json!(-5),
            serde_json::json!(1.5),
            serde_json::json!({"time": 1}),
        ] {
            assert!(read_time(&bad).is_err(), "{bad}");
            assert_eq!(value_time(&bad), None);
        }
    }

    #[test]
    fn flags_come_as_booleans_strings_or_numbers() {
        for yes in [
            serde_json::json!(true),
            serde_json::json!("true"),
            serde_json::json!(1),
        ] {
            assert!(value_flag(&yes), "{yes}");
        }
        for no in [
            serde_json::json!(false),
            serde_json::json!("false"),
            serde_json::json!(0),
            Value::Null,
        ] {
            assert!(!value_flag(&no), "{no}");
        }
    }

    #[test]
    fn counts_come_as_strings_or_numbers() {
        assert_eq!(value_count(&serde_json::json!("121")), Some(121));
        assert_eq!(value_count(&serde_json::json!(7)), Some(7));
        assert_eq!(value_count(&serde_json::json!("-1")), None);
    }
}
