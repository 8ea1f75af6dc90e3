//! `config/client.toml`, the SDK's client configuration: the chain id, the keyring backend,
//! the output format and the node a client command uses unless its flags say otherwise, so
//! that `--chain-id` need not be typed on every transaction. `init` writes it (with the new
//! chain's id); `config set client KEY VALUE`, `config get client KEY` and `config view
//! client` manage it, as gaiad's `config` does.
//!
//! How it reaches the commands: before the command line is parsed, each value the file sets
//! becomes the default of its flag through the flag's environment variable
//! (`KEYSTONE_CHAIN_ID`, `KEYSTONE_NODE`, `KEYSTONE_KEYRING_BACKEND`, `KEYSTONE_OUTPUT`),
//! unless that variable is already set — so a flag beats the environment, which beats the
//! file, which beats the built-in default.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The keys of client.toml, in the file's order.
pub const KEYS: [&str; 5] = [
    "chain-id",
    "keyring-backend",
    "output",
    "node",
    "broadcast-mode",
];

/// What client.toml holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientConfig {
    /// The network's chain id.
    #[serde(default)]
    pub chain_id: String,
    /// Where keys are kept (`file` or `test`).
    #[serde(default = "default_backend")]
    pub keyring_backend: String,
    /// `text` or `json`.
    #[serde(default = "default_output")]
    pub output: String,
    /// The node's RPC address.
    #[serde(default = "default_node")]
    pub node: String,
    /// How transactions are broadcast (`sync`, the one Keystone's CLI uses).
    #[serde(default = "default_mode")]
    pub broadcast_mode: String,
}

fn default_backend() -> String {
    "file".into()
}
fn default_output() -> String {
    "text".into()
}
fn default_node() -> String {
    crate::client::DEFAULT_NODE.into()
}
fn default_mode() -> String {
    "sync".into()
}

impl ClientConfig {
    /// The file `init` writes for `chain_id`.
    pub fn for_chain(chain_id: &str) -> ClientConfig {
        ClientConfig {
            chain_id: chain_id.into(),
            keyring_backend: default_backend(),
            output: default_output(),
            node: default_node(),
            broadcast_mode: default_mode(),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Result<&str> {
        Ok(match key {
            "chain-id" => &self.chain_id,
            "keyring-backend" => &self.keyring_backend,
            "output" => &self.output,
            "node" => &self.node,
            "broadcast-mode" => &self.broadcast_mode,
            other => bail!(
                "unknown client config key {other:?}: one of {}",
                KEYS.join(", ")
            ),
        })
    }

    /// Set `key` to `value`, checked as its flag would check it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let one_of = |allowed: &[&str]| -> Result<String> {
            if allowed.contains(&value) {
                Ok(value.to_string())
            } else {
                bail!("invalid {key} {value:?}: one of {}", allowed.join(", "))
            }
        };
        match key {
            "chain-id" => self.chain_id = value.to_string(),
            "keyring-backend" => self.keyring_backend = one_of(&["file", "test"])?,
            "output" => self.output = one_of(&["text", "json"])?,
            "node" => {
                crate::client::Client::new(value)
                    .with_context(|| format!("invalid node {value:?}"))?;
                self.node = value.to_string();
            }
            "broadcast-mode" => self.broadcast_mode = one_of(&["sync"])?,
            other => bail!(
                "unknown client config key {other:?}: one of {}",
                KEYS.join(", ")
            ),
        }
        Ok(())
    }

    /// The file's text.
    pub fn to_toml(&self) -> String {
        format!(
            "# Keystone's client configuration (the SDK's client.toml): the defaults of the\n\
             # client commands' flags. `keystone config set client KEY VALUE` edits it.\n\n\
             # The network chain ID\nchain-id = {:?}\n\
             # The keyring's backend, where the keys are stored (file|test)\nkeyring-backend = {:?}\n\
             # CLI output format (text|json)\noutput = {:?}\n\
             # <host>:<port> to CometBFT RPC interface for this chain\nnode = {:?}\n\
             # Transaction broadcasting mode (sync)\nbroadcast-mode = {:?}\n",
            self.chain_id, self.keyring_backend, self.output, self.node, self.broadcast_mode
        )
    }
}

/// `config/client.toml` of `home`, if there is one.
pub fn read(home: &Path) -> Result<Option<ClientConfig>> {
    let path = home.join("config").join("client.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    toml::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not a client configuration", path.display()))
}

/// Write `config` as `config/client.toml` of `home`.
pub fn write(home: &Path, config: &ClientConfig) -> Result<()> {
    let dir = home.join("config");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("client.toml");
    std::fs::write(&path, config.to_toml())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The environment variable that carries `key`'s value to its flag.
pub fn env_var(key: &str) -> Option<&'static str> {
    match key {
        "chain-id" => Some("KEYSTONE_CHAIN_ID"),
        "keyring-backend" => Some("KEYSTONE_KEYRING_BACKEND"),
        "output" => Some("KEYSTONE_OUTPUT"),
        "node" => Some("KEYSTONE_NODE"),
        _ => None,
    }
}

/// The (variable, value) pairs `config` sets as flag defaults: non-empty values whose
/// variable `is_set` does not already name.
pub fn flag_defaults(
    config: &ClientConfig,
    is_set: impl Fn(&str) -> bool,
) -> Vec<(&'static str, String)> {
    KEYS.iter()
        .filter_map(|k| {
            let var = env_var(k)?;
            let value = config.get(k).ok()?;
            (!value.is_empty() && !is_set(var)).then(|| (var, value.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_round_trip_and_bad_values() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut c = ClientConfig::for_chain("x-1");
        c.set("node", "tcp://127.0.0.1:1234").expect("node");
        c.set("keyring-backend", "test").expect("backend");
        write(dir.path(), &c).expect("write");
        let back = read(dir.path()).expect("read").expect("present");
        assert_eq!(back, c);
        assert_eq!(back.get("chain-id").expect("get"), "x-1");
        assert!(c.set("keyring-backend", "os").is_err());
        assert!(c.set("output", "yaml").is_err());
        assert!(c.set("colour", "blue").is_err());
        assert!(c.set("node", "not a url").is_err());
        assert!(read(&dir.path().join("nowhere")).expect("absent").is_none());
        std::fs::write(dir.path().join("config/client.toml"), "chain_id = 1\n").expect("w");
        assert!(read(dir.path()).is_err(), "a mistyped key is an error");
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let mut c = ClientConfig::for_chain("x-1");
        c.set("output", "json").expect("output");
        let set = flag_defaults(&c, |v| v == "KEYSTONE_NODE");
        assert!(set.contains(&("KEYSTONE_CHAIN_ID", "x-1".to_string())));
        assert!(set.contains(&("KEYSTONE_OUTPUT", "json".to_string())));
        assert!(!set.iter().any(|(v, _)| *v == "KEYSTONE_NODE"));
        let empty = flag_defaults(&ClientConfig::for_chain(""), |_| false);
        assert!(!empty.iter().any(|(v, _)| *v == "KEYSTONE_CHAIN_ID"));
    }
}
