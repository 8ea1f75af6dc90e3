//! The ABCI 2.0 socket, both ends, as CometBFT v0.38 speaks it.
//!
//! - [`SocketApp`] (the client, in [`client`]) is an [`Application`](keystone_proto::Application)
//!   that forwards every call to an application in another process, so the engine drives an
//!   app written in any language exactly as it drives the built-in one.
//! - [`serve`] (the server, in [`server`]) puts any `Application` behind a socket, so any
//!   CometBFT-compatible engine (CometBFT itself, or Keystone with `--proxy-app`) can drive it.
//!
//! The framing (a protobuf `Request`/`Response` behind an unsigned-varint length) is
//! `keystone_proto::socket`. Addresses are CometBFT's: `tcp://host:port`, `unix:///path`, or a
//! bare `host:port` (TCP). Both ends are plain threads over `std::net` and
//! `std::os::unix::net`: the driver is synchronous, and each ABCI connection carries one call
//! at a time.

pub mod client;
pub mod server;

pub use client::{ClientError, Connection, SocketApp, SocketAppConfig};
pub use server::{serve, Server, ServerError, ServerHandle};

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where an ABCI application listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `tcp://host:port` (or a bare `host:port`): the host may be a name.
    Tcp(String),
    /// `unix:///path/to/socket`.
    Unix(PathBuf),
}

/// An address that is not `tcp://host:port`, `unix://path` or `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ABCI address {address:?}: {reason}")]
pub struct AddressError {
    /// What was given.
    pub address: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for Address {
    type Err = AddressError;

    /// CometBFT's `ProtocolAndAddress`: `proto://rest`, and TCP when there is no `://`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddressError {
            address: s.to_owned(),
            reason,
        };
        let (proto, rest) = s.split_once("://").unwrap_or(("tcp", s));
        match proto {
            "tcp" => {
                // A port is required; the host may be empty only in a listen address.
                match rest.rsplit_once(':') {
                    Some((_, port)) if port.parse::<u16>().is_ok() => {
                        Ok(Address::Tcp(rest.to_owned()))
                    }
                    _ => Err(err("a TCP address needs host:port")),
                }
            }
            "unix" if rest.is_empty() => Err(err("a unix address needs a socket path")),
            "unix" => Ok(Address::Unix(PathBuf::from(rest))),
            _ => Err(err("the scheme must be tcp:// or unix://")),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(hp) => write!(f, "tcp://{hp}"),
            Address::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

/// One ABCI connection, over TCP or a unix socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    /// One attempt to connect. For TCP every resolved address is tried, each for at most
    /// `timeout`, so an unroutable host cannot stall the caller's retry loop past its deadline.
    pub(crate) fn connect(address: &Address, timeout: Duration) -> io::Result<Stream> {
        match address {
            Address::Tcp(hp) => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address resolved");
                for sa in hp.to_socket_addrs()? {
                    match TcpStream::connect_timeout(&sa, timeout) {
                        Ok(s) => {
                            // Requests and responses are small and latency-bound: never let
                            // Nagle's algorithm hold one back waiting for an ack.
                            s.set_nodelay(true)?;
                            return Ok(Stream::Tcp(s));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
            Address::Unix(p) => UnixStream::connect(p).map(Stream::Unix),
        }
    }

    pub(crate) fn try_clone(&self) -> io::Result<Stream> {
        match self {
            Stream::Tcp(s) => s.try_clone().map(Stream::Tcp),
            Stream::Unix(s) => s.try_clone().map(Stream::Unix),
        }
    }

    /// Closes both directions; a thread blocked reading the stream (or its clone) wakes up.
    pub(crate) fn shutdown(&self) {
        // Already closed by the peer is fine: there is nothing left to close.
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    pub(crate) fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Stream::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }

    /// Who is on the other end, for log lines.
    pub(crate) fn peer(&self) -> String {
        match self {
            Stream::Tcp(s) => s
                .peer_addr()
                .map_or_else(|_| "tcp peer".to_owned(), |a| a.to_string()),
            Stream::Unix(_) => "unix socket peer".to_owned(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// The name of a request's message type, as CometBFT's docs write it.
pub fn request_name(v: &keystone_proto::abci::request::Value) -> &'static str {
    use keystone_proto::abci::request::Value as V;
    match v {
        V::Echo(_) => "Echo",
        V::Flush(_) => "Flush",
        V::Info(_) => "Info",
        V::InitChain(_) => "InitChain",
        V::Query(_) => "Query",
        V::CheckTx(_) => "CheckTx",
        V::Commit(_) => "Commit",
        V::ListSnapshots(_) => "ListSnapshots",
        V::OfferSnapshot(_) => "OfferSnapshot",
        V::LoadSnapshotChunk(_) => "LoadSnapshotChunk",
        V::ApplySnapshotChunk(_) => "ApplySnapshotChunk",
        V::PrepareProposal(_) => "PrepareProposal",
        V::ProcessProposal(_) => "ProcessProposal",
        V::ExtendVote(_) => "ExtendVote",
        V::VerifyVoteExtension(_) => "VerifyVoteExtension",
        V::FinalizeBlock(_) => "FinalizeBlock",
    }
}

/// The name of a response's message type; the same names as [`request_name`], so a response
/// answers a request exactly when the names match.
pub(crate) fn response_name(v: &keystone_proto::abci::response::Value) -> &'static str {
    use keystone_proto::abci::response::Value as V;
    match v {
        V::Exception(_) => "Exception",
        V::Echo(_) => "Echo",
        V::Flush(_) => "Flush",
        V::Info(_) => "Info",
        V::InitChain(_) => "InitChain",
        V::Query(_) => "Query",
        V::CheckTx(_) => "CheckTx",
        V::Commit(_) => "Commit",
        V::ListSnapshots(_) => "ListSnapshots",
        V::OfferSnapshot(_) => "OfferSnapshot",
        V::LoadSnapshotChunk(_) => "LoadSnapshotChunk",
        V::ApplySnapshotChunk(_) => "ApplySnapshotChunk",
        V::PrepareProposal(_) => "PrepareProposal",
        V::ProcessProposal(_) => "ProcessProposal",
        V::ExtendVote(_) => "ExtendVote",
        V::VerifyVoteExtension(_) => "VerifyVoteExtension",
        V::FinalizeBlock(_) => "FinalizeBlock",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_cometbft_reads_them() {
        assert_eq!(
            "tcp://127.0.0.1:26658".parse(),
            Ok(Address::Tcp("127.0.0.1:26658".into()))
        );
        assert_eq!(
            "localhost:26658".parse(),
            Ok(Address::Tcp("localhost:26658".into()))
        );
        assert_eq!(
            "unix:///tmp/app.sock".parse(),
            Ok(Address::Unix("/tmp/app.sock".into()))
        );
        assert_eq!(
            "unix://app.sock".parse(),
            Ok(Address::Unix("app.sock".into()))
        );
        assert!("tcp://127.0.0.1".parse::<Address>().is_err());
        assert!("grpc://127.0.0.1:26658".parse::<Address>().is_err());
        assert!("unix://".parse::<Address>().is_err());
        assert_eq!(Address::Tcp("[::1]:1".into()).to_string(), "tcp://[::1]:1");
        assert_eq!(Address::Unix("/a/b".into()).to_string(), "unix:///a/b");
    }
}
