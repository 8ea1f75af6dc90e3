//! `cosmos.base.tendermint.v1beta1.Service` (the SDK's `client/grpc/cmtservice`): node info,
//! syncing, the latest block or one by height (`block` and `sdk_block`, whose proposer is a
//! `cosmosvalcons` address), validator sets (the latest is the set of the height in progress,
//! as CometBFT's `validators` answers), and `ABCIQuery` passed to the application.
//!
//! A height above the chain's is refused with the SDK's `requested block height is bigger
//! then the chain length`; validator sets are paged with `pagination.offset`/`limit` (limit
//! default 100).

use super::{answer, decode, internal, Gateway, Reply, COSMOS_SDK_VERSION};
use cosmos_sdk_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1 as cmt;
use keystone_consensus_driver::rpc::{Params, ReadView};
use keystone_modules::Address;
use keystone_proto::prost::Message;
use keystone_proto::types as pb;
use tonic::Status;

pub(super) async fn call(g: &Gateway, method: &str, data: &[u8]) -> Reply {
    match method {
        "GetNodeInfo" => node_info(g).await,
        "GetSyncing" => {
            let s = status(g).await?;
            answer(&cmt::GetSyncingResponse {
                syncing: s["sync_info"]["catching_up"].as_bool().unwrap_or(false),
            })
        }
        "GetLatestBlock" => {
            let view = g.view()?;
            let h = view.last_height().map_err(internal)?;
            let (block_id, block, sdk_block) = block_at(view, h)?;
            answer(&cmt::GetLatestBlockResponse {
                block_id,
                block,
                sdk_block,
            })
        }
        "GetBlockByHeight" => {
            let req: cmt::GetBlockByHeightRequest = decode(data)?;
            let view = g.view()?;
            let h = height(view, req.height)?;
            let (block_id, block, sdk_block) = block_at(view, h)?;
            answer(&cmt::GetBlockByHeightResponse {
                block_id,
                block,
                sdk_block,
            })
        }
        "GetLatestValidatorSet" => {
            let req: cmt::GetLatestValidatorSetRequest = decode(data)?;
            let view = g.view()?;
            let h = view.last_height().map_err(internal)? + 1;
            let (validators, pagination) = validators(view, h, req.pagination)?;
            answer(&cmt::GetLatestValidatorSetResponse {
                block_height: h as i64,
                validators,
                pagination,
            })
        }
        "GetValidatorSetByHeight" => {
            let req: cmt::GetValidatorSetByHeightRequest = decode(data)?;
            let view = g.view()?;
            let h = height(view, req.height)?;
            let (validators, pagination) = validators(view, h, req.pagination)?;
            answer(&cmt::GetValidatorSetByHeightResponse {
                block_height: h as i64,
                validators,
                pagination,
            })
        }
        "ABCIQuery" => {
            let req: cmt::AbciQueryRequest = decode(data)?;
            let res = g
                .engine
                .query(keystone_proto::abci::RequestQuery {
                    data: req.data.into(),
                    path: req.path,
                    height: req.height,
                    prove: req.prove,
                })
                .await
                .map_err(internal)?;
            answer(&cmt::AbciQueryResponse {
                code: res.code,
                log: res.log,
                info: res.info,
                index: res.index,
                key: res.key.to_vec(),
                value: res.value.to_vec(),
                proof_ops: res.proof_ops.map(|ops| cmt::ProofOps {
                    ops: ops
                        .ops
                        .into_iter()
                        .map(|o| cmt::ProofOp {
                            r#type: o.r#type,
                            key: o.key,
                            data: o.data,
                        })
                        .collect(),
                }),
                height: res.height,
                codespace: res.codespace,
            })
        }
        _ => Err(Status::unimplemented(format!(
            "unknown method {method} for service cosmos.base.tendermint.v1beta1.Service"
        ))),
    }
}

async fn status(g: &Gateway) -> Result<serde_json::Value, Status> {
    crate::rpc::call(&g.engine, "status", Params::default())
        .await
        .map_err(|e| internal(e.data))
}

async fn node_info(g: &Gateway) -> Reply {
    let s = status(g).await?;
    let n = &s["node_info"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let num = |v: &serde_json::Value| text(v).parse::<u64>().unwrap_or(0);
    let p = &n["protocol_version"];
    answer(&cmt::GetNodeInfoResponse {
        default_node_info: Some(keystone_proto::tm::p2p::DefaultNodeInfo {
            protocol_version: Some(keystone_proto::tm::p2p::ProtocolVersion {
                p2p: num(&p["p2p"]),
                block: num(&p["block"]),
                app: num(&p["app"]),
            }),
            default_node_id: text(&n["id"]),
            listen_addr: text(&n["listen_addr"]),
            network: text(&n["network"]),
            version: text(&n["version"]),
            channels: hex::decode(text(&n["channels"])).unwrap_or_default(),
            moniker: text(&n["moniker"]),
            other: Some(keystone_proto::tm::p2p::DefaultNodeInfoOther {
                tx_index: text(&n["other"]["tx_index"]),
                rpc_address: text(&n["other"]["rpc_address"]),
            }),
        }),
        application_version: Some(cmt::VersionInfo {
            name: "keystone".into(),
            app_name: "keystone".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_commit: String::new(),
            build_tags: String::new(),
            go_version: String::new(),
            build_deps: Vec::new(),
            cosmos_sdk_version: COSMOS_SDK_VERSION.into(),
        }),
    })
}

/// A requested height, checked as the SDK checks it against the chain's.
fn height(view: &ReadView, h: i64) -> Result<u64, Status> {
    if h <= 0 {
        return Err(Status::invalid_argument(
            "height must be greater than 0".to_string(),
        ));
    }
    let top = view.last_height().map_err(internal)?;
    if h as u64 > top {
        return Err(Status::invalid_argument(
            "requested block height is bigger then the chain length",
        ));
    }
    Ok(h as u64)
}

type BlockParts = (Option<pb::BlockId>, Option<pb::Block>, Option<cmt::Block>);

/// Block `h` as CometBFT's proto and as the SDK's (`sdk_block`).
pub(super) fn block_at(view: &ReadView, h: u64) -> Result<BlockParts, Status> {
    let blocks = view.blocks();
    let block = blocks
        .block_proto(h)
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(format!("block {h} is not available")))?;
    let id = blocks
        .block_id(h)
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(format!("block {h} is not available")))?;
    let sdk_block = cmt::Block {
        header: block.header.clone().map(sdk_header),
        data: block.data.clone(),
        evidence: block.evidence.clone(),
        last_commit: block.last_commit.clone(),
    };
    Ok((Some(id.to_proto()), Some(block), Some(sdk_block)))
}

fn sdk_header(h: pb::Header) -> cmt::Header {
    let proposer = <[u8; 20]>::try_from(h.proposer_address.as_slice())
        .map(|a| Address(a).to_valcons())
        .unwrap_or_default();
    cmt::Header {
        version: h.version,
        chain_id: h.chain_id,
        height: h.height,
        time: h.time,
        last_block_id: h.last_block_id,
        last_commit_hash: h.last_commit_hash,
        data_hash: h.data_hash,
        validators_hash: h.validators_hash,
        next_validators_hash: h.next_validators_hash,
        consensus_hash: h.consensus_hash,
        app_hash: h.app_hash,
        last_results_hash: h.last_results_hash,
        evidence_hash: h.evidence_hash,
        proposer_address: proposer,
    }
}

/// The validators of height `h`, one page of them.
fn validators(
    view: &ReadView,
    h: u64,
    page: Option<PageRequest>,
) -> Result<(Vec<cmt::Validator>, Option<PageResponse>), Status> {
    let set = view
        .validators_at(h)
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(format!("validators of height {h} are not available")))?;
    let page = page.unwrap_or_default();
    let limit = match page.limit {
        0 => 100,
        l => l.min(100),
    } as usize;
    let all = set.validators();
    let vals = all
        .iter()
        .skip(page.offset as usize)
        .take(limit)
        .map(|v| cmt::Validator {
            address: Address(v.address.0).to_valcons(),
            pub_key: Some(keystone_proto::tm::google::protobuf::Any {
                type_url: "/cosmos.crypto.ed25519.PubKey".into(),
                value: cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey {
                    key: v.pub_key.0.to_vec(),
                }
                .encode_to_vec(),
            }),
            voting_power: v.voting_power,
            proposer_priority: v.proposer_priority,
        })
        .collect();
    Ok((
        vals,
        Some(PageResponse {
            next_key: Vec::new(),
            total: all.len() as u64,
        }),
    ))
}
