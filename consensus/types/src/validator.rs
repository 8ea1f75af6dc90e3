//! One validator: identity, voting power and proposer priority.

use crate::{Address, PublicKey};
use keystone_proto::types as pb;
use prost::Message;

/// A member of a validator set.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Validator {
    /// Its address (normally `pub_key.address()`; tests may set any 20 bytes).
    pub address: Address,
    /// Its ed25519 consensus key.
    pub pub_key: PublicKey,
    /// Its voting power; 0 in an update means removal.
    pub voting_power: i64,
    /// Its proposer priority (CometBFT's weighted round robin).
    pub proposer_priority: i64,
}

impl Validator {
    /// A validator for `pub_key` with `voting_power` and priority 0.
    pub fn new(pub_key: PublicKey, voting_power: i64) -> Self {
        Validator {
            address: pub_key.address(),
            pub_key,
            voting_power,
            proposer_priority: 0,
        }
    }

    /// The leaf bytes of the validator-set hash: protobuf `SimpleValidator{pub_key, power}`.
    pub fn hash_bytes(&self) -> Vec<u8> {
        pb::SimpleValidator {
            pub_key: Some(self.pub_key.to_proto()),
            voting_power: self.voting_power,
        }
        .encode_to_vec()
    }

    /// Protobuf `Validator`.
    pub fn to_proto(&self) -> pb::Validator {
        pb::Validator {
            address: self.address.0.to_vec(),
            pub_key: Some(self.pub_key.to_proto()),
            voting_power: self.voting_power,
            proposer_priority: self.proposer_priority,
        }
    }

    /// From protobuf: the address must be the key's.
    pub fn from_proto(p: &pb::Validator) -> crate::Result<Self> {
        let pub_key = PublicKey::from_proto(
            p.pub_key
                .as_ref()
                .ok_or(crate::Error::MissingField("pub_key"))?,
        )?;
        let address = Address::from_slice(&p.address)?;
        if address != pub_key.address() {
            return Err(crate::Error::ValidatorSet(format!(
                "address {address} does not match its public key"
            )));
        }
        Ok(Validator {
            address,
            pub_key,
            voting_power: p.voting_power,
            proposer_priority: p.proposer_priority,
        })
    }
}
