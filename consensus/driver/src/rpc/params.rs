//! A method's parameters as either form sends them: JSON-RPC (`{"height": "5"}`, or an
//! array in the method's argument order) and the URI form (`?height=5&hash=0xAB…`, strings
//! possibly in quotes, bytes as `0x` hex).

use super::{arguments, RpcError};
use base64::Engine as _;
use serde_json::{Map, Value};

/// How a bytes parameter is written in JSON-RPC bodies (the URI form always takes `0x` hex
/// or a quoted string).
#[derive(Clone, Copy, Debug)]
pub enum Bytes {
    /// `[]byte` in CometBFT: base64.
    Base64,
    /// `bytes.HexBytes`: hex.
    Hex,
}

/// The parameters of one call.
#[derive(Clone, Debug, Default)]
pub struct Params {
    map: Map<String, Value>,
    uri: bool,
}

impl Params {
    /// JSON-RPC `params` for `method`: an object, an array in argument order, or absent.
    pub fn from_json(method: &str, params: Option<&Value>) -> Result<Params, RpcError> {
        let map = match params {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(Value::Array(items)) => {
                let names = arguments(method).unwrap_or(&[]);
                if items.len() > names.len() {
                    return Err(RpcError::invalid_params(format!(
                        "expected at most {} parameters, got {}",
                        names.len(),
                        items.len()
                    )));
                }
                names
                    .iter()
                    .zip(items)
                    .map(|(n, v)| (n.to_string(), v.clone()))
                    .collect()
            }
            Some(other) => {
                return Err(RpcError::invalid_params(format!(
                    "params must be an object or an array, got {other}"
                )))
            }
        };
        Ok(Params { map, uri: false })
    }

    /// URI-form parameters (every value a string as it came in the query).
    pub fn from_uri(pairs: impl IntoIterator<Item = (String, String)>) -> Params {
        Params {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
            uri: true,
        }
    }

    /// Set a parameter (for callers that build requests).
    pub fn with(mut self, key: &str, value: Value) -> Params {
        self.map.insert(key.into(), value);
        self
    }

    /// The raw value, absent when missing or `null` (or empty in the URI form).
    fn raw(&self, key: &str) -> Option<&Value> {
        match self.map.get(key)? {
            Value::Null => None,
            Value::String(s) if self.uri && s.is_empty() => None,
            v => Some(v),
        }
    }

    /// A parameter's JSON as sent (URI values are strings).
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.raw(key)
    }

    /// A string parameter (URI values may be quoted).
    pub fn string(&self, key: &str) -> Result<Option<String>, RpcError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) if self.uri => Ok(Some(unquote(s).to_string())),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(RpcError::invalid_params(format!(
                "{key} must be a string, got {other}"
            ))),
        }
    }

    /// An integer parameter: a JSON string of digits (as CometBFT's clients write int64) or
    /// a JSON number.
    pub fn int(&self, key: &str) -> Result<Option<i64>, RpcError> {
        let bad = |v: &dyn std::fmt::Display| {
            RpcError::invalid_params(format!("{key} must be an integer, got {v}"))
        };
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| bad(n)),
            Some(Value::String(s)) => {
                let t = unquote(s);
                if t.is_empty() {
                    return Ok(None);
                }
                t.parse().map(Some).map_err(|_| bad(&format!("{s:?}")))
            }
            Some(other) => Err(bad(other)),
        }
    }

    /// A boolean parameter.
    pub fn bool(&self, key: &str) -> Result<bool, RpcError> {
        match self.raw(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if self.uri => match unquote(s) {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(RpcError::invalid_params(format!(
                    "{key} must be true or false, got {other:?}"
                ))),
            },
            Some(other) => Err(RpcError::invalid_params(format!(
                "{key} must be a boolean, got {other}"
            ))),
        }
    }

    /// A bytes parameter: in JSON-RPC bodies written as `form` says; in the URI form `0x…`
    /// hex, or a quoted string taken as its bytes.
    pub fn bytes(&self, key: &str, form: Bytes) -> Result<Option<Vec<u8>>, RpcError> {
        let Some(v) = self.raw(key) else {
            return Ok(None);
        };
        let Value::String(s) = v else {
            return Err(RpcError::invalid_params(format!(
                "{key} must be a string, got {v}"
            )));
        };
        let bad = |e: &dyn std::fmt::Display| {
            RpcError::invalid_params(format!("{key} is not valid {form:?}: {e}"))
        };
        if self.uri {
            if let Some(h) = s.strip_prefix("0x") {
                return hex::decode(h).map(Some).map_err(|e| bad(&e));
            }
            if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
                return Ok(Some(unquote(s).as_bytes().to_vec()));
            }
        }
        match form {
            Bytes::Hex => hex::decode(s.strip_prefix("0x").unwrap_or(s))
                .map(Some)
                .map_err(|e| bad(&e)),
            Bytes::Base64 => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(Some)
                .map_err(|e| bad(&e)),
        }
    }

    /// A required bytes parameter.
    pub fn need_bytes(&self, key: &str, form: Bytes) -> Result<Vec<u8>, RpcError> {
        self.bytes(key, form)?
            .ok_or_else(|| RpcError::invalid_params(format!("missing {key}")))
    }
}

/// `"abc"` → `abc` (URI values may be quoted; JSON ones never need it).
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_come_as_strings_numbers_or_quoted_uri_values() {
        let p = Params::from_json("block", Some(&json!({"height": "7"}))).expect("params");
        assert_eq!(p.int("height"), Ok(Some(7)));
        let p = Params::from_json("block", Some(&json!({"height": 7}))).expect("params");
        assert_eq!(p.int("height"), Ok(Some(7)));
        let p = Params::from_json("block", Some(&json!(["9"]))).expect("params");
        assert_eq!(p.int("height"), Ok(Some(9)));
        let p = Params::from_uri([("height".to_string(), "\"3\"".to_string())]);
        assert_eq!(p.int("height"), Ok(Some(3)));
        let p = Params::from_json("block", Some(&json!({"height": true}))).expect("params");
        assert_eq!(p.int("height").map_err(|e| e.code), Err(-32602));
        let p = Params::from_json("block", Some(&json!({"height": "x"}))).expect("params");
        assert_eq!(p.int("height").map_err(|e| e.code), Err(-32602));
    }

    #[test]
    fn bytes_follow_each_form() {
        let p = Params::from_json("tx", Some(&json!({"hash": "AQI="}))).expect("params");
        assert_eq!(p.bytes("hash", Bytes::Base64), Ok(Some(vec![1, 2])));
        let p = Params::from_json("abci_query", Some(&json!({"data": "0102"}))).expect("params");
        assert_eq!(p.bytes("data", Bytes::Hex), Ok(Some(vec![1, 2])));
        let p = Params::from_uri([("data".to_string(), "0x0102".to_string())]);
        assert_eq!(p.bytes("data", Bytes::Base64), Ok(Some(vec![1, 2])));
        let p = Params::from_uri([("data".to_string(), "\"ab\"".to_string())]);
        assert_eq!(p.bytes("data", Bytes::Hex), Ok(Some(b"ab".to_vec())));
        let p = Params::from_json("tx", Some(&json!({"hash": "!!"}))).expect("params");
        assert!(p.bytes("hash", Bytes::Base64).is_err());
    }

    #[test]
    fn too_many_positional_parameters_are_refused() {
        let e = Params::from_json("health", Some(&json!([1]))).expect_err("refused");
        assert_eq!(e.code, -32602);
        let e = Params::from_json("block", Some(&json!("5"))).expect_err("refused");
        assert_eq!(e.code, -32602);
    }
}
