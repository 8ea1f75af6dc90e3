//! Events: what a transaction or a block did, as typed key-value records — the Cosmos SDK's
//! `sdk.Event`. Modules emit them into their [`State`](crate::State); a
//! [`Branch`](crate::state::Branch) keeps them with its writes, so the events of a failed
//! message are dropped exactly when its writes are. The app turns them into ABCI events,
//! and the node indexes them for `tx_search` (`transfer.recipient='cosmos1…'`).

/// One event: a type (`transfer`, `message`, …) and its attributes, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The type, e.g. `coin_spent`.
    pub kind: String,
    /// Attributes as (key, value), in the order the SDK emits them.
    pub attributes: Vec<(String, String)>,
}

impl Event {
    /// An event of type `kind` with `attributes`.
    pub fn new<K: Into<String>, V: Into<String>>(
        kind: &str,
        attributes: impl IntoIterator<Item = (K, V)>,
    ) -> Event {
        Event {
            kind: kind.into(),
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The same event with one more attribute at the end (the SDK's `msg_index`).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Event {
        self.attributes.push((key.into(), value.into()));
        self
    }
}
