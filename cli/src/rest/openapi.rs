//! `GET /openapi.json`: an OpenAPI 3.0 document of every REST route, generated from
//! [`super::ROUTES`] — the table the router is built from — so that a route cannot be served
//! without being documented, or documented without being served. Each operation lists its
//! path and query parameters (paging and `prove` where the route takes them), its JSON body
//! (POST), the top-level fields of its answer (with `proof` where provable) and the error
//! shape.

use super::routes::{Method, Prove, Route};
use super::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, ROUTES};
use serde_json::{json, Map, Value};

/// A route's path as OpenAPI writes it: `{*key}` (the rest of the path) becomes `{key}`.
pub fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// The path variables of a route's path.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|s| s.trim_start_matches('*'))
        .collect()
}

fn schema(kind: &str) -> Value {
    match kind {
        "array" => json!({"type": "array", "items": {}}),
        "object" => json!({"type": "object"}),
        "boolean" => json!({"type": "boolean"}),
        "integer" => json!({"type": "integer"}),
        _ => json!({"type": "string"}),
    }
}

fn query_param(name: &str, kind: &str, doc: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": doc, "schema": schema(kind)})
}

fn operation(r: &Route) -> Value {
    let mut params: Vec<Value> = path_params(r.path)
        .into_iter()
        .map(|name| {
            let doc = if r.path.contains(&format!("{{*{name}}}")) {
                "may contain '/'"
            } else {
                ""
            };
            json!({"name": name, "in": "path", "required": true, "description": doc,
                "schema": {"type": "string"}})
        })
        .collect();
    params.extend(r.query.iter().map(|(n, k, d)| query_param(n, k, d)));
    if r.paged.is_some() {
        params.extend([
            query_param("pagination.key", "string", "next_key of the previous page"),
            query_param(
                "pagination.offset",
                "string",
                "items to skip (not with pagination.key)",
            ),
            query_param(
                "pagination.limit",
                "string",
                &format!("items per page (default {DEFAULT_PAGE_LIMIT}, at most {MAX_PAGE_LIMIT})"),
            ),
            query_param(
                "pagination.count_total",
                "boolean",
                "accepted; total is always counted",
            ),
            query_param("pagination.reverse", "boolean", "newest/last first"),
        ]);
    }
    let mut description = String::new();
    if let Some(keys) = r.prove.keys_doc() {
        if !matches!(r.prove, Prove::StateKey) {
            params.push(query_param(
                "prove",
                "boolean",
                "add `proof`: the ICS23 proofs of the state keys behind the answer",
            ));
        }
        description = format!("prove=true proves: {keys}");
    }
    let mut props = Map::new();
    for (name, kind, doc) in r.response {
        let mut s = schema(kind);
        s["description"] = json!(doc);
        props.insert((*name).into(), s);
    }
    if matches!(r.prove, Prove::Keys(..) | Prove::StakingPool) {
        props.insert(
            "proof".into(),
            json!({"$ref": "#/components/schemas/Proof"}),
        );
    }
    let error = json!({"description": "an error, in the gRPC-gateway's shape",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut op = json!({
        "operationId": format!("{}{}", r.method.name(), r.path.replace(['/', '{', '}', '*', '.'], "_")),
        "tags": [r.tag],
        "summary": r.summary,
        "description": description,
        "parameters": params,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "properties": props}}}},
            "400": error.clone(),
            "404": error.clone(),
            "413": error.clone(),
            "429": error.clone(),
            "500": error.clone(),
            "501": error.clone(),
            "503": error.clone(),
            "504": error,
        },
    });
    if r.method == Method::Post {
        let mut body = Map::new();
        for (name, kind, doc) in r.body {
            let mut s = schema(kind);
            s["description"] = json!(doc);
            body.insert((*name).into(), s);
        }
        op["requestBody"] = json!({"required": true, "content": {"application/json": {
            "schema": {"type": "object", "properties": body}}}});
    }
    op
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths
            .entry(openapi_path(r.path))
            .or_insert_with(|| json!({}));
        entry[r.method.name()] = operation(r);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Keystone REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Cosmos SDK v0.50 LCD (gRPC-gateway) routes and shapes Keystone serves, and its proof API. Single-object answers read from state take prove=true (ICS23 proofs against the app hash in the next block's header). Requests are rate limited per client IP (429), bodies limited (413) and timed out (504); see app.toml [api].",
        },
        "paths": paths,
        "components": {"schemas": {
            "Error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "integer", "description": "gRPC status code"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object"}},
                    "proof": {"$ref": "#/components/schemas/Proof"},
                },
            },
            "Proof": {
                "type": "object",
                "properties": {
                    "height": {"type": "string", "description": "the height the answer and the values are at"},
                    "header_height": {"type": "string", "description": "height + 1: the header whose app_hash the proofs check against"},
                    "app_hash": {"type": "string", "description": "hex"},
                    "entries": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "key": {"type": "string"},
                            "value": {"type": "string", "nullable": true, "description": "base64; null when absent"},
                            "proof": {"type": "string", "description": "ICS23 CommitmentProof (protobuf, base64) under jmt::ics23_spec()"},
                        },
                    }},
                },
            },
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::io::{Read, Write};

    fn documented() -> BTreeSet<(String, String)> {
        let doc = document();
        let mut out = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for method in ops.as_object().expect("operations").keys() {
                out.insert((method.clone(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn the_document_lists_exactly_the_routes() {
        let table: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.name().to_string(), openapi_path(r.path)))
            .collect();
        assert_eq!(table.len(), ROUTES.len(), "a route is in the table twice");
        assert_eq!(documented(), table);
        let doc = document();
        let by_denom = &doc["paths"]["/cosmos/bank/v1beta1/balances/{address}/by_denom"]["get"];
        let names: Vec<&str> = by_denom["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["address", "denom", "prove"]);
        assert!(
            by_denom["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
                ["proof"]
                .is_object()
        );
        let list = &doc["paths"]["/cosmos/staking/v1beta1/validators"]["get"]["parameters"];
        assert!(list
            .as_array()
            .expect("parameters")
            .iter()
            .any(|p| p["name"] == "pagination.limit"));
    }

    /// Every documented operation is served by the router (a placeholder request reaches a
    /// handler, not the gateway's "Not Implemented"/"Method Not Allowed" fallbacks), and a
    /// path not in the document falls through to them.
    #[test]
    fn the_router_serves_exactly_the_documented_routes() {
        // An engine that has gone away: handlers answer, with errors where they ask it.
        let (engine, _) = std::sync::mpsc::channel();
        let app = super::super::router(
            crate::rpc::Engine::new(engine, None),
            crate::grpc::NodeConfig::default(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(l, app).await;
            });
        });
        let request = |method: &str, path: &str| -> (u16, String) {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let body = if method == "POST" { "{}" } else { "" };
            let req = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(req.as_bytes()).expect("write");
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            let status = resp
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (status, resp)
        };
        for (method, path) in documented() {
            let concrete: String = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let (status, resp) = request(&method.to_uppercase(), &concrete);
            assert!(
                status != 0
                    && !resp.contains("Not Implemented")
                    && !resp.contains("Method Not Allowed"),
                "{method} {path} is documented but not served: {resp}"
            );
        }
        let (status, resp) = request("GET", "/cosmos/nothing/v1beta1/here");
        assert_eq!(status, 501, "{resp}");
        assert!(resp.contains(r#""code":12"#) && resp.contains("Not Implemented"));
        let (status, resp) = request("DELETE", "/cosmos/tx/v1beta1/txs");
        assert_eq!(status, 501, "{resp}");
        assert!(resp.contains("Method Not Allowed"), "{resp}");
    }
}
