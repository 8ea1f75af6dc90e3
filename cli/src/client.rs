//! A small JSON-RPC client for the commands that talk to a node (`--node tcp://host:port`):
//! one HTTP/1.1 request per call over a plain TCP connection.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The node a client command talks to unless told otherwise (CometBFT's RPC default).
pub const DEFAULT_NODE: &str = "tcp://127.0.0.1:26657";

/// A node's RPC endpoint.
pub struct Client {
    addr: String,
}

impl Client {
    /// From `--node` (`tcp://127.0.0.1:26657`, `http://…` or `host:port`).
    pub fn new(node: &str) -> Result<Client> {
        let addr = node
            .trim_start_matches("tcp://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        if !addr.contains(':') {
            bail!("--node {node:?}: expected tcp://host:port");
        }
        Ok(Client { addr })
    }

    /// Call `method` with `params`; the `result`, or the node's error as an error.
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let mut s = TcpStream::connect(&self.addr)
            .with_context(|| format!("cannot reach the node at {} (is it running?)", self.addr))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes())?;
        let mut resp = String::new();
        s.read_to_string(&mut resp)?;
        let (_, body) = resp
            .split_once("\r\n\r\n")
            .ok_or_else(|| anyhow!("malformed HTTP answer"))?;
        let v: Value = serde_json::from_str(body).context("the node's answer is not JSON")?;
        if let Some(e) = v.get("error") {
            bail!(
                "{} ({}): {}",
                e["message"].as_str().unwrap_or("error"),
                e["code"],
                e["data"].as_str().unwrap_or("")
            );
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| anyhow!("no result in the node's answer"))
    }

    /// `abci_query`: the response object.
    pub fn query(&self, path: &str, data: &[u8], height: u64, prove: bool) -> Result<Value> {
        let r = self.call(
            "abci_query",
            json!({"path": path, "data": hex::encode(data), "height": height.to_string(), "prove": prove}),
        )?;
        let resp = r["response"].clone();
        if resp["code"].as_u64().unwrap_or(0) != 0 {
            bail!("{}", resp["log"].as_str().unwrap_or("query failed"));
        }
        Ok(resp)
    }
}
