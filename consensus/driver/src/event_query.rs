//! CometBFT's event query language, as `tx_search` and `/websocket` `subscribe` take it:
//! conditions joined by `AND`, each `<type>.<attribute> <op> <value>` with `op` one of `=`,
//! `<`, `<=`, `>`, `>=`, `CONTAINS`, or `<type>.<attribute> EXISTS`. Values are quoted strings
//! (`'cosmos1…'`) or numbers (`5`, `1.5`). The implicit keys `tx.hash` and `tx.height` are
//! answered like any other (the node indexes them for every transaction).
//!
//! Numbers compare as numbers, without floats: both sides are read as exact decimals.

use std::cmp::Ordering;

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `CONTAINS` (substring)
    Contains,
    /// `EXISTS` (no operand)
    Exists,
}

/// An operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// `'text'`
    Text(String),
    /// A number as written (digits, an optional sign and fraction).
    Number(String),
    /// For `EXISTS`.
    None,
}

/// One condition: `key op operand`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// `type.attribute`, e.g. `transfer.recipient`.
    pub key: String,
    /// The comparison.
    pub op: Op,
    /// What is compared with.
    pub operand: Operand,
}

/// A parsed query: every condition must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The conditions, in the order written.
    pub conditions: Vec<Condition>,
}

/// A query that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse query {query:?}: {reason}")]
pub struct QueryError {
    /// The query as given.
    pub query: String,
    /// What is wrong.
    pub reason: String,
}

/// Longest query accepted: a query is a handful of conditions, never a document.
pub const MAX_QUERY_LEN: usize = 4096;

impl std::str::FromStr for Query {
    type Err = QueryError;
    fn from_str(q: &str) -> Result<Query, QueryError> {
        let fail = |reason: &str| QueryError {
            query: q.into(),
            reason: reason.into(),
        };
        if q.len() > MAX_QUERY_LEN {
            return Err(fail("query too long"));
        }
        let mut conditions = Vec::new();
        let mut rest = q.trim();
        if rest.is_empty() {
            return Err(fail("empty query"));
        }
        loop {
            let (cond, after) = condition(rest).map_err(|r| fail(&r))?;
            conditions.push(cond);
            let after = after.trim_start();
            if after.is_empty() {
                break;
            }
            let Some(next) = strip_keyword(after, "AND") else {
                return Err(fail(&format!("expected AND at {after:?}")));
            };
            rest = next.trim_start();
        }
        Ok(Query { conditions })
    }
}

fn strip_keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let head = s.get(..kw.len())?;
    let tail = &s[kw.len()..];
    (head.eq_ignore_ascii_case(kw) && tail.starts_with(|c: char| c.is_whitespace() || c == '\''))
        .then_some(tail)
        .or_else(|| (head.eq_ignore_ascii_case(kw) && tail.is_empty()).then_some(tail))
}

fn condition(s: &str) -> Result<(Condition, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || "._-/@".contains(c)))
        .unwrap_or(s.len());
    let key = &s[..end];
    if key.is_empty() {
        return Err(format!("expected an event key at {s:?}"));
    }
    let rest = s[end..].trim_start();
    if let Some(after) = strip_keyword(rest, "EXISTS") {
        return Ok((
            Condition {
                key: key.into(),
                op: Op::Exists,
                operand: Operand::None,
            },
            after,
        ));
    }
    let (op, rest) = if let Some(r) = rest.strip_prefix("<=") {
        (Op::Le, r)
    } else if let Some(r) = rest.strip_prefix(">=") {
        (Op::Ge, r)
    } else if let Some(r) = rest.strip_prefix('<') {
        (Op::Lt, r)
    } else if let Some(r) = rest.strip_prefix('>') {
        (Op::Gt, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (Op::Eq, r)
    } else if let Some(r) = strip_keyword(rest, "CONTAINS") {
        (Op::Contains, r)
    } else {
        return Err(format!("expected an operator after {key:?}"));
    };
    let rest = rest.trim_start();
    let (operand, rest) = if let Some(r) = rest.strip_prefix('\'') {
        let close = r.find('\'').ok_or("unterminated string")?;
        (Operand::Text(r[..close].into()), &r[close + 1..])
    } else {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        let n = &rest[..end];
        if parse_decimal(n).is_none() {
            return Err(format!(
                "expected a quoted string or a number after {key:?}"
            ));
        }
        (Operand::Number(n.into()), &rest[end..])
    };
    if op == Op::Contains && !matches!(operand, Operand::Text(_)) {
        return Err("CONTAINS takes a quoted string".into());
    }
    Ok((
        Condition {
            key: key.into(),
            op,
            operand,
        },
        rest,
    ))
}

/// An exact decimal: sign, integer digits, fraction digits (trailing zeros trimmed).
fn parse_decimal(s: &str) -> Option<(bool, String, String)> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (digits.contains('.') && frac.is_empty()) {
        return None;
    }
    let int = int.trim_start_matches('0').to_string();
    let frac = frac.trim_end_matches('0').to_string();
    let zero = int.is_empty() && frac.is_empty();
    Some((neg && !zero, int, frac))
}

fn cmp_decimal(a: &(bool, String, String), b: &(bool, String, String)) -> Ordering {
    let magnitude = |x: &(bool, String, String)| (x.1.len(), x.1.clone(), x.2.clone());
    let (ma, mb) = (magnitude(a), magnitude(b));
    match (a.0, b.0) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => ma.cmp(&mb),
        (true, true) => mb.cmp(&ma),
    }
}

impl Query {
    /// Whether an event, given as its composite keys (`type.attribute`, `tm.event`, …) and
    /// their values, satisfies every condition: for each, some value of its key matches.
    /// What subscriptions filter with.
    pub fn matches(&self, events: &std::collections::BTreeMap<String, Vec<String>>) -> bool {
        self.conditions.iter().all(|c| {
            events
                .get(&c.key)
                .is_some_and(|values| values.iter().any(|v| c.matches(v)))
        })
    }
}

impl Condition {
    /// Whether an attribute value satisfies this condition. A number operand compares
    /// numerically and fails on a value that is not a number; a text operand compares text
    /// (CometBFT compares quoted operands as strings).
    pub fn matches(&self, value: &str) -> bool {
        match (&self.op, &self.operand) {
            (Op::Exists, _) => true,
            (Op::Contains, Operand::Text(t)) => value.contains(t.as_str()),
            (op, Operand::Text(t)) => {
                let ord = value.cmp(t.as_str());
                holds(*op, ord)
            }
            (op, Operand::Number(n)) => match (parse_decimal(value), parse_decimal(n)) {
                (Some(v), Some(n)) => holds(*op, cmp_decimal(&v, &n)),
                _ => false,
            },
            (_, Operand::None) => false,
        }
    }

    /// The exact value an `=` condition asks for (what an index can look up directly).
    pub fn equals(&self) -> Option<&str> {
        match (&self.op, &self.operand) {
            (Op::Eq, Operand::Text(t)) => Some(t),
            (Op::Eq, Operand::Number(n)) => Some(n),
            _ => None,
        }
    }
}

fn holds(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Contains | Op::Exists => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        s.parse().expect("parses")
    }

    #[test]
    fn parses_cometbft_queries() {
        let query = q("tm.event = 'Tx' AND transfer.recipient='cosmos1abc' AND tx.height>=5");
        assert_eq!(query.conditions.len(), 3);
        assert_eq!(query.conditions[1].key, "transfer.recipient");
        assert_eq!(query.conditions[1].equals(), Some("cosmos1abc"));
        assert_eq!(query.conditions[2].op, Op::Ge);
        assert_eq!(query.conditions[2].operand, Operand::Number("5".into()));
        let exists = q("message.sender EXISTS and tx.hash CONTAINS 'AB'");
        assert_eq!(exists.conditions[0].op, Op::Exists);
        assert_eq!(exists.conditions[1].op, Op::Contains);
    }

    #[test]
    fn refuses_malformed_queries() {
        for bad in [
            "",
            "malformed query",
            "a.b = ",
            "a.b = 'unterminated",
            "a.b = 1 OR c.d = 2",
            "a.b CONTAINS 5",
            "= 'x'",
            "a.b = 1.",
        ] {
            assert!(bad.parse::<Query>().is_err(), "{bad:?} should not parse");
        }
        assert!("a.b = 'x'".repeat(1000).parse::<Query>().is_err());
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let c = |s: &str| q(s).conditions.remove(0);
        assert!(c("tx.height > 9").matches("10"));
        assert!(!c("tx.height > 10").matches("9"));
        assert!(c("x.y >= 1.50").matches("1.5"));
        assert!(c("x.y < -1").matches("-2"));
        assert!(c("x.y = 0").matches("-0"));
        assert!(!c("x.y = 5").matches("five"));
        assert!(c("x.y = '10'").matches("10"));
        assert!(!c("x.y = '10'").matches("010"), "text compares as text");
    }

    #[test]
    fn an_event_matches_when_every_condition_finds_a_value() {
        let events: std::collections::BTreeMap<String, Vec<String>> = [
            ("tm.event".to_string(), vec!["Tx".to_string()]),
            ("tx.height".to_string(), vec!["12".to_string()]),
            (
                "transfer.recipient".to_string(),
                vec!["cosmos1a".to_string(), "cosmos1b".to_string()],
            ),
        ]
        .into_iter()
        .collect();
        let q = |s: &str| s.parse::<Query>().expect("query");
        assert!(q("tm.event='Tx'").matches(&events));
        assert!(q("tm.event='Tx' AND transfer.recipient='cosmos1b'").matches(&events));
        assert!(q("tx.height > 11 AND tx.height <= 12").matches(&events));
        assert!(!q("tm.event='NewBlock'").matches(&events));
        assert!(!q("tm.event='Tx' AND transfer.recipient='cosmos1c'").matches(&events));
        assert!(!q("message.sender EXISTS").matches(&events));
    }
}
