//! The genesis document: CometBFT v0.38's `genesis.json` (`genesis_time`, `chain_id`,
//! `initial_height`, `consensus_params`, `validators`, `app_hash`, `app_state`), read and
//! written in CometBFT's JSON shapes (heights and powers as strings, keys as
//! `{"type": "tendermint/PubKeyEd25519", "value": base64}`), and validated the way CometBFT
//! validates it — with an error that says which field is wrong.
//!
//! What lives here: [`GenesisDoc`], [`ConsensusParams`], loading and validation, and the
//! conversions the engine needs (the validator set, the hashed params, the genesis time).
//! [`genutil`] holds gentx checking and `collect-gentxs`.
//! What does not: the meaning of `app_state` beyond the funds a gentx bonds (the application
//! reads its own sections), and signing gentxs (the CLI, which holds the keys).

use keystone_consensus_types::{HashedParams, PublicKey, Time, Validator, ValidatorSet};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub mod genutil;

/// CometBFT's longest chain id.
pub const MAX_CHAIN_ID_LEN: usize = 50;
/// CometBFT's largest block (`types.MaxBlockSizeBytes`).
pub const MAX_BLOCK_SIZE_BYTES: i64 = 104_857_600;

/// Why a genesis document was refused.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not valid JSON, or the wrong shape.
    #[error("genesis JSON: {0}")]
    Json(String),
    /// A field with a bad value.
    #[error("genesis: {field}: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

type Result<T> = std::result::Result<T, GenesisError>;

fn invalid(field: &'static str, reason: impl Into<String>) -> GenesisError {
    GenesisError::Invalid {
        field,
        reason: reason.into(),
    }
}

mod int_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum N {
            S(String),
            I(i64),
        }
        match N::deserialize(d)? {
            N::S(s) => s.parse().map_err(serde::de::Error::custom),
            N::I(i) => Ok(i),
        }
    }
}

/// `consensus_params.block`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockParams {
    /// Largest block in bytes (−1: the maximum).
    #[serde(with = "int_string")]
    pub max_bytes: i64,
    /// Most gas per block (−1: unlimited).
    #[serde(with = "int_string")]
    pub max_gas: i64,
}

/// `consensus_params.evidence`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceParams {
    /// Oldest evidence accepted, in blocks.
    #[serde(with = "int_string")]
    pub max_age_num_blocks: i64,
    /// Oldest evidence accepted, in nanoseconds.
    #[serde(with = "int_string")]
    pub max_age_duration: i64,
    /// Most evidence bytes per block.
    #[serde(with = "int_string")]
    pub max_bytes: i64,
}

/// `consensus_params.validator`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorParams {
    /// Accepted consensus key types.
    pub pub_key_types: Vec<String>,
}

/// `consensus_params.version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionParams {
    /// The application protocol version.
    #[serde(with = "int_string")]
    pub app: i64,
}

/// `consensus_params.abci`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbciParams {
    /// Height from which vote extensions are on (0: never).
    #[serde(with = "int_string")]
    pub vote_extensions_enable_height: i64,
}

/// Consensus parameters, CometBFT v0.38 layout and defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusParams {
    /// Block limits.
    pub block: BlockParams,
    /// Evidence limits.
    pub evidence: EvidenceParams,
    /// Validator key types.
    pub validator: ValidatorParams,
    /// App version.
    #[serde(default = "default_version")]
    pub version: VersionParams,
    /// ABCI options.
    #[serde(default = "default_abci")]
    pub abci: AbciParams,
}

fn default_version() -> VersionParams {
    VersionParams { app: 0 }
}

fn default_abci() -> AbciParams {
    AbciParams {
        vote_extensions_enable_height: 0,
    }
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            block: BlockParams {
                max_bytes: 22_020_096,
                max_gas: -1,
            },
            evidence: EvidenceParams {
                max_age_num_blocks: 100_000,
                max_age_duration: 172_800_000_000_000,
                max_bytes: 1_048_576,
            },
            validator: ValidatorParams {
                pub_key_types: vec!["ed25519".into()],
            },
            version: default_version(),
            abci: default_abci(),
        }
    }
}

impl ConsensusParams {
    /// CometBFT's `ValidateBasic`.
    pub fn validate(&self) -> Result<()> {
        let b = &self.block;
        if b.max_bytes == 0 || b.max_bytes < -1 || b.max_bytes > MAX_BLOCK_SIZE_BYTES {
            return Err(invalid(
                "consensus_params.block.max_bytes",
                format!(
                    "must be -1 or in 1..={MAX_BLOCK_SIZE_BYTES}, got {}",
                    b.max_bytes
                ),
            ));
        }
        if b.max_gas < -1 {
            return Err(invalid(
                "consensus_params.block.max_gas",
                format!("must be >= -1, got {}", b.max_gas),
            ));
        }
        let e = &self.evidence;
        if e.max_age_num_blocks <= 0 {
            return Err(invalid(
                "consensus_params.evidence.max_age_num_blocks",
                "must be positive",
            ));
        }
        if e.max_age_duration <= 0 {
            return Err(invalid(
                "consensus_params.evidence.max_age_duration",
                "must be positive",
            ));
        }
        if e.max_bytes < 0 || (b.max_bytes > 0 && e.max_bytes > b.max_bytes) {
            return Err(invalid(
                "consensus_params.evidence.max_bytes",
                "must be in 0..=block.max_bytes",
            ));
        }
        if self.validator.pub_key_types.is_empty() {
            return Err(invalid(
                "consensus_params.validator.pub_key_types",
                "must not be empty",
            ));
        }
        if self.validator.pub_key_types.iter().any(|t| t != "ed25519") {
            return Err(invalid(
                "consensus_params.validator.pub_key_types",
                "only ed25519 is supported",
            ));
        }
        Ok(())
    }

    /// As protobuf, the form InitChain hands them to the application.
    pub fn to_proto(&self) -> keystone_proto::types::ConsensusParams {
        use keystone_proto::types as pb;
        let nanos = self.evidence.max_age_duration;
        pb::ConsensusParams {
            block: Some(pb::BlockParams {
                max_bytes: self.block.max_bytes,
                max_gas: self.block.max_gas,
            }),
            evidence: Some(pb::EvidenceParams {
                max_age_num_blocks: self.evidence.max_age_num_blocks,
                max_age_duration: Some(keystone_proto::tm::google::protobuf::Duration {
                    seconds: nanos / 1_000_000_000,
                    nanos: (nanos % 1_000_000_000) as i32,
                }),
                max_bytes: self.evidence.max_bytes,
            }),
            validator: Some(pb::ValidatorParams {
                pub_key_types: self.validator.pub_key_types.clone(),
            }),
            version: Some(pb::VersionParams {
                app: self.version.app as u64,
            }),
            abci: Some(pb::AbciParams {
                vote_extensions_enable_height: self.abci.vote_extensions_enable_height,
            }),
        }
    }

    /// What goes into the header's `consensus_hash`.
    pub fn hashed(&self) -> HashedParams {
        HashedParams {
            block_max_bytes: self.block.max_bytes,
            block_max_gas: self.block.max_gas,
        }
    }
}

/// A key as CometBFT's JSON writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonPubKey {
    /// `tendermint/PubKeyEd25519`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Base64 of the key bytes.
    pub value: String,
}

/// A genesis validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    /// Uppercase hex of the address.
    #[serde(default)]
    pub address: String,
    /// The consensus key.
    pub pub_key: JsonPubKey,
    /// Voting power.
    #[serde(with = "int_string")]
    pub power: i64,
    /// A name for humans.
    #[serde(default)]
    pub name: String,
}

impl GenesisValidator {
    /// The consensus key.
    pub fn public_key(&self) -> Result<PublicKey> {
        use base64::Engine;
        if self.pub_key.kind != "tendermint/PubKeyEd25519" {
            return Err(invalid(
                "validators.pub_key.type",
                format!("unsupported key type {}", self.pub_key.kind),
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.pub_key.value)
            .map_err(|e| invalid("validators.pub_key.value", e.to_string()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("validators.pub_key.value", "an ed25519 key has 32 bytes"))?;
        Ok(PublicKey(arr))
    }
}

/// The genesis document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenesisDoc {
    /// RFC 3339 time of the first block.
    pub genesis_time: String,
    /// The chain id.
    pub chain_id: String,
    /// The first height.
    #[serde(with = "int_string", default = "one")]
    pub initial_height: i64,
    /// Consensus parameters (CometBFT's defaults when absent).
    #[serde(default)]
    pub consensus_params: ConsensusParams,
    /// Genesis validators (may be empty when the application sets them in InitChain).
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
    /// Expected app hash after InitChain (usually empty).
    #[serde(default)]
    pub app_hash: String,
    /// The application's genesis state.
    #[serde(default)]
    pub app_state: Option<serde_json::Value>,
}

fn one() -> i64 {
    1
}

impl GenesisDoc {
    /// Parse JSON and validate.
    pub fn from_json(bytes: &[u8]) -> Result<GenesisDoc> {
        let doc: GenesisDoc =
            serde_json::from_slice(bytes).map_err(|e| GenesisError::Json(e.to_string()))?;
        doc.validate()?;
        Ok(doc)
    }

    /// Read `path`, parse and validate.
    pub fn load(path: &Path) -> Result<GenesisDoc> {
        let bytes = std::fs::read(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&bytes).map_err(|e| match e {
            GenesisError::Json(m) => GenesisError::Json(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// CometBFT's `ValidateAndComplete`, without the completion: every field checked.
    pub fn validate(&self) -> Result<()> {
        if self.chain_id.is_empty() {
            return Err(invalid("chain_id", "must not be empty"));
        }
        if self.chain_id.len() > MAX_CHAIN_ID_LEN {
            return Err(invalid(
                "chain_id",
                format!("longer than {MAX_CHAIN_ID_LEN} characters"),
            ));
        }
        if self.initial_height < 1 {
            return Err(invalid(
                "initial_height",
                format!("must be at least 1, got {}", self.initial_height),
            ));
        }
        self.time()?;
        self.consensus_params.validate()?;
        for v in &self.validators {
            if v.power <= 0 {
                return Err(invalid(
                    "validators.power",
                    format!("validator {:?} has no voting power", v.name),
                ));
            }
            let pk = v.public_key()?;
            if !v.address.is_empty() && !v.address.eq_ignore_ascii_case(&pk.address().to_string()) {
                return Err(invalid(
                    "validators.address",
                    format!("{} does not match its public key", v.address),
                ));
            }
        }
        if !self.validators.is_empty() {
            self.validator_set()?;
        }
        match &self.app_state {
            None | Some(serde_json::Value::Object(_)) => {}
            Some(_) => return Err(invalid("app_state", "must be a JSON object")),
        }
        if !self.app_hash.is_empty() {
            hex::decode(&self.app_hash).map_err(|e| invalid("app_hash", e.to_string()))?;
        }
        Ok(())
    }

    /// The genesis time.
    pub fn time(&self) -> Result<Time> {
        let t = time::OffsetDateTime::parse(
            &self.genesis_time,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| invalid("genesis_time", format!("{:?}: {e}", self.genesis_time)))?;
        let nanos = t.unix_timestamp_nanos();
        Time::new(
            nanos.div_euclid(1_000_000_000) as i64,
            nanos.rem_euclid(1_000_000_000) as u32,
        )
        .map_err(|e| invalid("genesis_time", e.to_string()))
    }

    /// The validator set of the first height (CometBFT's `NewValidatorSet`).
    pub fn validator_set(&self) -> Result<ValidatorSet> {
        let vals = self
            .validators
            .iter()
            .map(|v| Ok(Validator::new(v.public_key()?, v.power)))
            .collect::<Result<Vec<_>>>()?;
        ValidatorSet::new(vals).map_err(|e| invalid("validators", e.to_string()))
    }

    /// Pretty JSON, as `keystone init` writes it.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| GenesisError::Json(e.to_string()))
    }
}
