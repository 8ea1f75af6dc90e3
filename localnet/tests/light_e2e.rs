//! Provable state end to end, trusting no node: on a 4-validator localnet whose set changes (a
//! delegation raises one validator's power), headers fetched over RPC verify with
//! `tendermint-light-client-verifier`, adjacent and skipping across the change; a balance's
//! ICS23 proof fetched over REST verifies with the `ics23` crate against the app hash of the
//! header so verified; tampering with any byte of value, proof or header is caught. The same
//! chain through `keystone light verify` and `keystone query state --prove`, which say which
//! step failed when one does.

mod common;

use base64::Engine as _;
use common::{tx, valoper};
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use serde_json::Value;
use std::time::Duration;
use tendermint::block::signed_header::SignedHeader;
use tendermint::validator::Set;
use tendermint_light_client_verifier::options::Options;
use tendermint_light_client_verifier::types::{
    TrustThreshold, TrustedBlockState, UntrustedBlockState,
};
use tendermint_light_client_verifier::{ProdVerifier, Verdict, Verifier};
use tendermint_rpc::{Client, HttpClient, Paging};

const CHAIN: &str = "e2e-light";

/// A height's signed header and the sets around it, as tendermint-rs types.
struct Fetched {
    signed: SignedHeader,
    validators: Set,
    next: Set,
}

async fn fetch(client: &HttpClient, h: u32) -> Fetched {
    let signed = client.commit(h).await.expect("commit").signed_header;
    let set = |h: u32| async move {
        let v = client
            .validators(h, Paging::All)
            .await
            .expect("validators")
            .validators;
        Set::without_proposer(v)
    };
    Fetched {
        signed,
        validators: set(h).await,
        next: set(h + 1).await,
    }
}

fn verify(trusted: &Fetched, untrusted: &Fetched) -> Verdict {
    let options = Options {
        trust_threshold: TrustThreshold::ONE_THIRD,
        trusting_period: Duration::from_secs(3600),
        clock_drift: Duration::from_secs(10),
    };
    let header = &trusted.signed.header;
    ProdVerifier::default().verify_update_header(
        UntrustedBlockState {
            signed_header: &untrusted.signed,
            validators: &untrusted.validators,
            next_validators: Some(&untrusted.next),
        },
        TrustedBlockState {
            chain_id: &header.chain_id,
            header_time: header.time,
            height: header.height,
            next_validators: &trusted.next,
            next_validators_hash: header.next_validators_hash,
        },
        &options,
        tendermint::Time::now(),
    )
}

#[test]
fn headers_and_proofs_verify_across_a_validator_set_change() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let mut net = Localnet::init(
        &bin,
        dir.path(),
        4,
        CHAIN,
        free_base(50).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 90)
        .expect("four validators from gentxs make blocks");

    // The set changes: node 1 goes from 100 to 250 of 550.
    let val1 = valoper(&net, 1, "node1");
    let h = tx(
        &net,
        0,
        &[
            "tx",
            "staking",
            "delegate",
            &val1,
            "150000000stake",
            "--from",
            "node0",
        ],
    );
    net.wait_height(&[0], h + 4, 60).expect("the chain goes on");
    let target = (h + 3) as u32;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client =
        HttpClient::new(format!("http://127.0.0.1:{}", net.nodes[0].rpc).as_str()).expect("client");
    let chain: Vec<Fetched> = rt.block_on(async {
        let mut v = Vec::new();
        for height in 1..=target {
            v.push(fetch(&client, height).await);
        }
        v
    });
    // Peers as `net_info` reports them, parsed by tendermint-rpc: the other three validators.
    let net_info = rt.block_on(client.net_info()).expect("net_info");
    assert_eq!(net_info.n_peers, 3);
    assert!(net_info.listening);
    for p in &net_info.peers {
        assert_eq!(p.node_info.network.as_str(), CHAIN);
        assert!(p.connection_status.recv_monitor.bytes > 0, "votes came in");
    }
    let first = &chain[0];
    let last = &chain[target as usize - 1];
    assert_ne!(
        first.validators.hash(),
        last.validators.hash(),
        "the validator set really changed"
    );
    for w in chain.windows(2) {
        assert_eq!(
            verify(&w[0], &w[1]),
            Verdict::Success,
            "adjacent {}",
            w[1].signed.header.height
        );
    }
    assert_eq!(
        verify(first, last),
        Verdict::Success,
        "skipping 1 -> {target}"
    );

    // A tampered header no longer matches its commit.
    let mut forged = fetch_again(&rt, &client, target);
    forged.signed.header.app_hash = tendermint::AppHash::try_from(vec![0u8; 32]).expect("app hash");
    assert!(matches!(verify(first, &forged), Verdict::Invalid(_)));

    // A balance at target − 1 over REST, proved against the verified header `target`.
    let delegator = net.nodes[0].address.clone();
    let key = format!("bank/balances/{delegator}/stake");
    let rest = keystone_localnet::http(
        net.nodes[1].api,
        "GET",
        &format!("/keystone/v1/state/{key}?height={}&prove=true", target - 1),
        "",
    )
    .expect("REST answers");
    assert_eq!(rest["header_height"], target.to_string(), "{rest}");
    let b64 = base64::engine::general_purpose::STANDARD;
    let value = b64
        .decode(rest["value"].as_str().expect("value"))
        .expect("b64");
    let proof_bytes = b64
        .decode(rest["proof"].as_str().expect("proof"))
        .expect("b64");
    let app_hash = last.signed.header.app_hash.as_bytes().to_vec();
    assert_eq!(
        hex::encode_upper(&app_hash),
        rest["app_hash"].as_str().expect("app_hash"),
        "the node's app hash is the verified one"
    );
    let proves = |value: &[u8], proof: &[u8]| -> bool {
        use keystone_proto::prost::Message;
        let Ok(p) = ics23::CommitmentProof::decode(proof) else {
            return false;
        };
        ics23::verify_membership::<ics23::HostFunctionsManager>(
            &p,
            &keystone_store::proof_spec(),
            &app_hash,
            key.as_bytes(),
            value,
        )
    };
    assert!(proves(&value, &proof_bytes), "the balance is proved");
    for i in 0..value.len() {
        let mut v = value.clone();
        v[i] ^= 1;
        assert!(!proves(&v, &proof_bytes), "value byte {i} flipped");
    }
    for i in 0..proof_bytes.len() {
        let mut p = proof_bytes.clone();
        p[i] ^= 1;
        assert!(!proves(&value, &p), "proof byte {i} flipped");
    }

    // The command line: from a trusted header 1, skip to `target`.
    let node = format!("tcp://127.0.0.1:{}", net.nodes[2].rpc);
    let home = net.nodes[2].home.display().to_string();
    let trusted_hash = first.signed.header.hash().to_string();
    let out = net
        .keystone(&[
            "light",
            "verify",
            "--height",
            &target.to_string(),
            "--trusted-height",
            "1",
            "--trusted-hash",
            &trusted_hash,
            "--node",
            &node,
            "--home",
            &home,
        ])
        .expect("light verify");
    let v: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["height"], target.to_string());
    assert_eq!(v["hash"], last.signed.header.hash().to_string());
    assert_eq!(v["app_hash"], rest["app_hash"]);
    assert!(!v["steps"].as_array().expect("steps").is_empty());
    let wrong = net.keystone(&[
        "light",
        "verify",
        "--trusted-height",
        "1",
        "--trusted-hash",
        &"AB".repeat(32),
        "--node",
        &node,
        "--home",
        &home,
    ]);
    let e = wrong
        .expect_err("a wrong trusted hash is refused")
        .to_string();
    assert!(e.contains("trust root: header 1 hashes to"), "{e}");
    // Validators come from gentxs here, so genesis.json cannot be the root.
    let no_root = net
        .keystone(&["light", "verify", "--node", &node, "--home", &home])
        .expect_err("no trust root")
        .to_string();
    assert!(
        no_root.contains("give --trusted-height and --trusted-hash"),
        "{no_root}"
    );
    let out = net
        .keystone(&[
            "query",
            "state",
            &key,
            "--height",
            &(target - 1).to_string(),
            "--prove",
            "--trusted-height",
            "1",
            "--trusted-hash",
            &trusted_hash,
            "--node",
            &node,
            "--home",
            &home,
        ])
        .expect("query state --prove");
    let q: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(q["verified"], "present");
    assert_eq!(q["app_hash"], rest["app_hash"]);
}

fn fetch_again(rt: &tokio::runtime::Runtime, client: &HttpClient, h: u32) -> Fetched {
    rt.block_on(fetch(client, h))
}
