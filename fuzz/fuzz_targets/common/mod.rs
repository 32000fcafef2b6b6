//! Helpers shared by the fuzz targets: an independent reading of the input
//! with `serde_json`, to compare the gateway's parsers against.

#![allow(dead_code)]

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// Longest message a rejection may carry, whatever the input's size: errors
/// are logged and sent back to clients, and must never echo a whole input.
pub const MAX_ERROR_MESSAGE: usize = 512;

/// Whether `text` is one syntactically valid JSON value. Unlike parsing into
/// a `Value`, this accepts lone UTF-16 surrogates in `\u` escapes, which the
/// JSON grammar allows and which browsers' `JSON.parse` reads.
pub fn is_json(text: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// The keys of a JSON object at its top level, in order, duplicates kept,
/// escapes decoded. `None` when `text` is not a JSON object.
pub fn top_level_keys(text: &str) -> Option<Vec<String>> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some((key, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                keys.push(key);
            }
            Ok(keys)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let keys = (&mut de).deserialize_map(Keys).ok()?;
    de.end().ok()?;
    Some(keys)
}

/// Whether one of `names` appears more than once among `keys`.
pub fn has_duplicate(keys: &[String], names: &[&str]) -> bool {
    names
        .iter()
        .any(|name| keys.iter().filter(|key| key == name).count() > 1)
}

/// Nesting depth of arrays and objects: 0 for a scalar, 1 for `{}`.
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A field of an object, with JSON `null` read as absent (as the gateway's
/// parsers do).
pub fn field<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}
