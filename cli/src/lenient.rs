//! Request targets as CometBFT's Go server takes them: its own documentation writes
//! `curl 'localhost:26657/broadcast_tx_commit?tx="name=satoshi"'`, and Go's HTTP server accepts
//! the raw `"` (and `<`, `>` in `tx_search?query="tx.height>5"`) that the `http` crate's URI
//! parser refuses with 400 before a handler runs. [`LenientListener`] hands hyper connections
//! whose request lines have those bytes percent-encoded (`"` → `%22`), which the handlers then
//! decode as they decode any query string: the request means what the client wrote.
//!
//! Only request lines are touched. Each connection is followed through HTTP/1's framing —
//! request line, header lines, a `Content-Length` body — so that a body or a header is never
//! rewritten; on anything it does not follow (a chunked body, an upgrade to WebSocket, a line
//! over [`MAX_LINE`]) it stops rewriting and passes the rest through as it comes, which is what
//! the server saw before. It holds at most one line per connection.

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The longest request or header line followed; past it, the connection passes through.
pub const MAX_LINE: usize = 16 * 1024;

/// Bytes `http` refuses in a request target and Go accepts: sent on percent-encoded.
fn refused(b: u8) -> bool {
    matches!(b, b'"' | b'<' | b'>' | b'`')
}

/// A TCP listener whose connections rewrite request targets (see the module doc).
pub struct LenientListener(pub TcpListener);

impl Listener for LenientListener {
    type Io = LenientStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        (LenientStream::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Listener::local_addr(&self.0)
    }
}

/// The client's address, as the rate limit counts it (`ConnectInfo<ClientAddr>`).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, LenientListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, LenientListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// Where in HTTP/1's framing the next byte from the client falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A request line (or the empty lines allowed before one).
    RequestLine,
    /// A header line; the body length seen so far.
    Header { body: u64 },
    /// This many body bytes to pass on.
    Body(u64),
    /// Not followed any more: everything passes as it comes.
    Through,
}

/// A stream whose incoming request lines are rewritten (see the module doc); writes pass on.
pub struct LenientStream<S> {
    inner: S,
    phase: Phase,
    /// The line being read (request or header), until its `\n`.
    line: Vec<u8>,
    /// Bytes ready for the reader.
    out: Vec<u8>,
    /// How much of `out` the reader has taken.
    taken: usize,
}

impl<S> LenientStream<S> {
    /// Wrap `inner`.
    pub fn new(inner: S) -> Self {
        LenientStream {
            inner,
            phase: Phase::RequestLine,
            line: Vec::new(),
            out: Vec::new(),
            taken: 0,
        }
    }

    /// Follow `input` through the framing, appending what the reader gets to `out`.
    fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            match self.phase {
                Phase::Through => {
                    self.out.extend_from_slice(input);
                    return;
                }
                Phase::Body(n) => {
                    let k = input.len().min(usize::try_from(n).unwrap_or(usize::MAX));
                    self.out.extend_from_slice(&input[..k]);
                    input = &input[k..];
                    let left = n - k as u64;
                    self.phase = if left == 0 {
                        Phase::RequestLine
                    } else {
                        Phase::Body(left)
                    };
                }
                Phase::RequestLine | Phase::Header { .. } => {
                    let end = input.iter().position(|&b| b == b'\n');
                    let k = end.map_or(input.len(), |i| i + 1);
                    self.line.extend_from_slice(&input[..k]);
                    input = &input[k..];
                    if self.line.len() > MAX_LINE {
                        let line = std::mem::take(&mut self.line);
                        self.out.extend_from_slice(&line);
                        self.phase = Phase::Through;
                    } else if end.is_some() {
                        let line = std::mem::take(&mut self.line);
                        self.end_of_line(&line);
                    }
                }
            }
        }
    }

    fn end_of_line(&mut self, line: &[u8]) {
        let bare = trim_eol(line);
        match self.phase {
            Phase::RequestLine if bare.is_empty() => self.out.extend_from_slice(line),
            Phase::RequestLine => {
                rewrite_request_line(line, &mut self.out);
                self.phase = Phase::Header { body: 0 };
            }
            Phase::Header { body } if bare.is_empty() => {
                self.out.extend_from_slice(line);
                self.phase = if body == 0 {
                    Phase::RequestLine
                } else {
                    Phase::Body(body)
                };
            }
            Phase::Header { body } => {
                self.out.extend_from_slice(line);
                self.phase = header(bare, body);
            }
            Phase::Body(_) | Phase::Through => self.out.extend_from_slice(line),
        }
    }
}

/// The phase after header line `h` (no line end), the body length so far being `body`.
fn header(h: &[u8], body: u64) -> Phase {
    let Some(colon) = h.iter().position(|&b| b == b':') else {
        return Phase::Header { body };
    };
    let name = h[..colon].trim_ascii();
    let value = h[colon + 1..].trim_ascii();
    if name.eq_ignore_ascii_case(b"content-length") {
        match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
            Some(n) => Phase::Header { body: n },
            // hyper refuses it; nothing after it is followed.
            None => Phase::Through,
        }
    } else if name.eq_ignore_ascii_case(b"transfer-encoding")
        || name.eq_ignore_ascii_case(b"upgrade")
    {
        Phase::Through
    } else {
        Phase::Header { body }
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `METHOD SP target SP version CRLF`, with the refused bytes of the target percent-encoded.
/// The target runs from the first space to the last one, as Go reads it.
fn rewrite_request_line(line: &[u8], out: &mut Vec<u8>) {
    let bare = trim_eol(line);
    let (Some(first), Some(last)) = (
        bare.iter().position(|&b| b == b' '),
        bare.iter().rposition(|&b| b == b' '),
    ) else {
        out.extend_from_slice(line);
        return;
    };
    if first == last {
        out.extend_from_slice(line);
        return;
    }
    out.extend_from_slice(&line[..=first]);
    for &b in &line[first + 1..last] {
        if refused(b) {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out.extend_from_slice(&line[last..]);
}

impl<S: AsyncRead + Unpin> AsyncRead for LenientStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.taken < this.out.len() {
                let k = buf.remaining().min(this.out.len() - this.taken);
                buf.put_slice(&this.out[this.taken..this.taken + k]);
                this.taken += k;
                if this.taken == this.out.len() {
                    this.out.clear();
                    this.taken = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 8 * 1024];
            let mut rb = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    // End of stream: a partial line goes on as it is.
                    let rest = std::mem::take(&mut this.line);
                    if rest.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    this.out.extend_from_slice(&rest);
                }
                Poll::Ready(Ok(())) => {
                    let filled = rb.filled().to_vec();
                    this.feed(&filled);
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LenientStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = LenientStream::new(());
        for c in chunks {
            s.feed(c);
        }
        let mut out = s.out;
        out.extend_from_slice(&s.line);
        out
    }

    #[test]
    fn quotes_in_a_request_target_are_percent_encoded() {
        let got =
            through(&[b"GET /broadcast_tx_commit?tx=\"name=satoshi\" HTTP/1.1\r\nHost: x\r\n\r\n"]);
        assert_eq!(
            got,
            b"GET /broadcast_tx_commit?tx=%22name=satoshi%22 HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        let got = through(&[b"GET /tx_search?query=\"tx.height>5\" HTTP/1.1\r\n\r\n"]);
        assert_eq!(
            got,
            b"GET /tx_search?query=%22tx.height%3E5%22 HTTP/1.1\r\n\r\n"
        );
    }

    #[test]
    fn a_line_split_anywhere_is_rewritten_the_same() {
        let whole: &[u8] = b"GET /abci_query?data=\"name\" HTTP/1.1\r\nHost: x\r\n\r\n";
        let want = through(&[whole]);
        for cut in 0..whole.len() {
            assert_eq!(
                through(&[&whole[..cut], &whole[cut..]]),
                want,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn bodies_and_headers_are_left_alone_and_the_next_request_is_followed() {
        let body = b"{\"a\":\"<\\\"x\\\">\"}";
        let mut req = format!(
            "POST / HTTP/1.1\r\nX-Quote: \"q\"\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        req.extend_from_slice(b"GET /status?x=\"1\" HTTP/1.1\r\n\r\n");
        let mut want = req.clone();
        let tail = b"GET /status?x=%221%22 HTTP/1.1\r\n\r\n";
        let n = want.len() - b"GET /status?x=\"1\" HTTP/1.1\r\n\r\n".len();
        want.truncate(n);
        want.extend_from_slice(tail);
        assert_eq!(through(&[&req]), want);
    }

    #[test]
    fn chunked_upgrades_and_long_lines_pass_through() {
        let req: &[u8] =
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\"x\"\r\n0\r\n\r\nGET /?a=\"b\" HTTP/1.1\r\n\r\n";
        assert_eq!(through(&[req]), req);
        let ws: &[u8] = b"GET /websocket HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\"frames\"";
        assert_eq!(through(&[ws]), ws);
        let mut long = b"GET /?q=\"".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_LINE + 10));
        long.extend_from_slice(b"\" HTTP/1.1\r\n\r\n");
        assert_eq!(through(&[&long]), long);
    }

    #[test]
    fn a_line_without_a_target_is_left_as_it_is() {
        assert_eq!(through(&[b"GARBAGE\r\n\r\n"]), b"GARBAGE\r\n\r\n");
        assert_eq!(
            through(&[b"\r\nGET / HTTP/1.1\r\n\r\n"]),
            b"\r\nGET / HTTP/1.1\r\n\r\n"
        );
    }
}
