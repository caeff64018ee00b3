//! HTTP/1.x from the first bytes of a TCP payload: the request line and its `Host` header,
//! or a response's status line.
//!
//! It owns only that first look: it never reassembles a stream, reads bodies, or decodes
//! anything beyond the header lines present in the given bytes. It never copies (every field
//! borrows the payload), never panics, and walks each byte at most a few times.

/// The methods recognised (RFC 9110 §9, and PATCH from RFC 5789).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
    Head,
    Options,
    Patch,
    Connect,
    Trace,
}

impl Method {
    const ALL: [Method; 9] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Head,
        Method::Options,
        Method::Patch,
        Method::Connect,
        Method::Trace,
    ];

    /// The method spelled exactly (methods are case-sensitive).
    pub fn from_bytes(b: &[u8]) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str().as_bytes() == b)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
        }
    }
}

/// A request line, and the `Host` header if a complete one is in the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: Method,
    /// The request-target as sent: a path, an absolute URI, `host:port` for CONNECT, or `*`.
    /// Untruncated: the caller bounds what it keeps.
    pub path: &'a [u8],
    /// `HTTP/1.0` or `HTTP/1.1` (any `HTTP/1.` digit); `None` for an HTTP/0.9 `GET /path`,
    /// or when the payload ends inside the request line (a short snaplen), and then `path`
    /// may be cut too.
    pub version: Option<&'a str>,
    /// The first `Host` header's value, trimmed; `None` when the payload ends before one.
    pub host: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// The path as text, when it is UTF-8 (RFC 9112 wants ASCII; clients send raw UTF-8).
    pub fn path_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.path).ok()
    }
}

/// A status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    pub version: &'a str,
    pub status: u16,
    /// The reason phrase, possibly empty, without the line end.
    pub reason: &'a [u8],
}

impl<'a> Response<'a> {
    pub fn reason_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.reason).ok()
    }
}

/// Requests start with one of these: four bytes suffice to tell them from other protocols.
const REQUEST_PREFIXES: [&[u8; 4]; 9] = [
    b"GET ", b"POST", b"PUT ", b"DELE", b"HEAD", b"OPTI", b"PATC", b"CONN", b"TRAC",
];

/// A cheap test on a payload's first four bytes (or more): could it start a request?
pub fn looks_like_request(first: &[u8]) -> bool {
    first
        .get(..4)
        .is_some_and(|p| REQUEST_PREFIXES.iter().any(|r| p == *r))
}

/// A cheap test on a payload's first bytes: could it start a response?
pub fn looks_like_response(first: &[u8]) -> bool {
    first.starts_with(b"HTTP/1.")
}

/// Parses the request line and looks for `Host` among the header lines that follow.
///
/// The request line must be `METHOD SP target SP HTTP/1.d`, ended by CRLF, LF or the payload's
/// end. When the payload ends inside it, what is there is kept if it reads as the start of
/// one: `METHOD SP` then the start of a target, then perhaps the start of `HTTP/1.`. Header
/// lines are read only while complete (ended by LF): a header cut by the payload's
/// end is not guessed at, so a split request yields its request line with `host: None`.
pub fn parse_request(payload: &[u8]) -> Option<Request<'_>> {
    let (whole, line, mut rest) = match complete_line(payload) {
        (Some(line), rest) => (true, line, rest),
        (None, rest) => (false, rest.strip_suffix(b"\r").unwrap_or(rest), &[][..]),
    };
    let (method, after) = split_at_byte(line, b' ')?;
    let method = Method::from_bytes(method)?;
    let (path, version) = match after.iter().rposition(|&b| b == b' ') {
        Some(sp) => (after.get(..sp)?, after.get(sp.checked_add(1)?..)?),
        // Cut by the payload's end, or an HTTP/0.9 simple request (`GET /path`, no version).
        None if !whole || method == Method::Get => (after, after.get(after.len()..)?),
        None => return None,
    };
    let version = match version_text(version) {
        Some(v) => Some(v),
        None if !whole && b"HTTP/1.".starts_with(version) => None,
        None if version.is_empty() && method == Method::Get => None,
        None => return None,
    };
    // Controls and spaces cannot be in a target: their presence means this is not HTTP.
    if path.is_empty() || path.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return None;
    }
    let mut host = None;
    // Each turn consumes at least the line's LF, so the loop is bounded by the payload.
    while let (Some(header), next) = complete_line(rest) {
        rest = next;
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = split_at_byte(header, b':') else {
            continue;
        };
        if name.eq_ignore_ascii_case(b"host") {
            host = std::str::from_utf8(trim(value))
                .ok()
                .filter(|h| !h.is_empty());
            break;
        }
    }
    Some(Request {
        method,
        path,
        version,
        host,
    })
}

/// Parses a status line `HTTP/1.d NNN reason`, the reason possibly absent or cut by the
/// payload's end.
pub fn parse_response(payload: &[u8]) -> Option<Response<'_>> {
    let (line, _) = split_line(payload);
    let version = version_text(line.get(..8)?)?;
    let digits = line.get(9..12).filter(|_| line.get(8) == Some(&b' '))?;
    let mut status = 0u16;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        // Three digits: at most 999.
        status = status * 10 + u16::from(d - b'0');
    }
    let reason = match line.get(12) {
        // Empty, but still a slice of the payload.
        None => line.get(12..).unwrap_or_default(),
        Some(b' ') => line.get(13..).unwrap_or_default(),
        Some(_) => return None,
    };
    Some(Response {
        version,
        status,
        reason,
    })
}

/// `HTTP/1.` and one digit, as text.
fn version_text(v: &[u8]) -> Option<&str> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', d] if d.is_ascii_digit() => {
            std::str::from_utf8(v).ok()
        }
        _ => None,
    }
}

/// The first line (without CR LF or LF) and what follows; the whole input (less a final CR)
/// if no LF.
fn split_line(b: &[u8]) -> (&[u8], &[u8]) {
    match complete_line(b) {
        (Some(line), rest) => (line, rest),
        (None, _) => (b.strip_suffix(b"\r").unwrap_or(b), &[]),
    }
}

/// The first line if an LF ends it (without the CR LF), and what follows.
fn complete_line(b: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let Some(lf) = b.iter().position(|&c| c == b'\n') else {
        return (None, b);
    };
    let line = b.get(..lf).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (
        Some(line),
        b.get(lf.saturating_add(1)..).unwrap_or_default(),
    )
}

/// Before and after the first `sep`, which is dropped.
fn split_at_byte(b: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = b.iter().position(|&c| c == sep)?;
    Some((b.get(..at)?, b.get(at.checked_add(1)?..)?))
}

/// Without leading and trailing spaces and tabs (RFC 9110 §5.5, optional whitespace).
fn trim(b: &[u8]) -> &[u8] {
    let ows = |c: &u8| *c == b' ' || *c == b'\t';
    let start = b.iter().position(|c| !ows(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !ows(c))
        .map_or(start, |e| e.saturating_add(1));
    b.get(start..end.max(start)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::testing::{inside as within, unhex as hex, XorShift};

    /// zeek__http-bro.org.pcap frame 4; tshark: GET, bro.org, /, HTTP/1.1.
    const BRO_ORG_GET: &str = "474554202f20485454502f312e310d0a486f73743a2062726f2e6f72670d0a557365722d4167656e743a204d6f7a696c6c612f352e3020285831313b204c696e757820693638363b2072763a32342e3029204765636b6f2f32303130303130312046697265666f782f32342e300d0a4163636570743a20746578742f68746d6c2c6170706c69636174696f6e2f7868746d6c2b786d6c2c6170706c69636174696f6e2f786d6c3b713d302e392c2a2f2a3b713d302e380d0a4163636570742d4c616e67756167653a20656e2d55532c656e3b713d302e350d0a4163636570742d456e636f64696e673a20677a69702c206465666c6174650d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a0d0a";
    /// The start of frame 6's response; tshark: 200 OK.
    const BRO_ORG_200: &str = "485454502f312e3120323030204f4b0d0a446174653a205475652c203134204a616e20323031342031373a30393a303120474d540d0a";

    #[test]
    fn real_request_and_response() {
        let p = hex(BRO_ORG_GET);
        assert!(looks_like_request(&p));
        let r = parse_request(&p).unwrap();
        assert_eq!(
            (r.method, r.path, r.version, r.host),
            (Method::Get, &b"/"[..], Some("HTTP/1.1"), Some("bro.org"))
        );
        let p = hex(BRO_ORG_200);
        assert!(looks_like_response(&p) && !looks_like_request(&p));
        let r = parse_response(&p).unwrap();
        assert_eq!(
            (r.version, r.status, r.reason_str()),
            ("HTTP/1.1", 200, Some("OK"))
        );
    }

    #[test]
    fn split_request_has_no_host() {
        let full = b"GET /a/b?c=d HTTP/1.0\r\nUser-Agent: x\r\nHost: example.org\r\n\r\n";
        let host_at = 38;
        for len in 0..=full.len() {
            let r = parse_request(&full[..len]);
            // "GET /" is the shortest start of a request line.
            assert_eq!(r.is_some(), len >= 5, "len {len}");
            if let Some(r) = r {
                assert!(b"/a/b?c=d".starts_with(r.path), "len {len}");
                assert_eq!(r.path.len() == 8, len >= 12, "len {len}");
                assert_eq!(r.version, (len >= 21).then_some("HTTP/1.0"), "len {len}");
                let want = (len >= host_at + 19).then_some("example.org");
                assert_eq!(r.host, want, "len {len}");
            }
        }
        // zeek__communityid-tcp-snap96.pcap: the snaplen cuts the version; tshark shows the
        // method and the URI.
        let r = parse_request(b"GET /images/sf.net_box.gif HTT").unwrap();
        assert_eq!(
            (r.path_str(), r.version),
            (Some("/images/sf.net_box.gif"), None)
        );
        assert_eq!(parse_request(b"GET /images/sf.net_box.gif HTX"), None);
        // zeek__mixed-vlan-mpls.pcap: an HTTP/0.9 request, which only GET can be.
        let r = parse_request(b"GET /\r\n\r\n").unwrap();
        assert_eq!((r.path, r.version, r.host), (&b"/"[..], None, None));
        assert_eq!(parse_request(b"POST /\r\n\r\n"), None);
    }

    #[test]
    fn header_variants() {
        let r = parse_request(b"POST /x HTTP/1.1\nhost:   Example.COM:8080 \t\nHost: second\n")
            .unwrap();
        assert_eq!((r.method, r.host), (Method::Post, Some("Example.COM:8080")));
        let r =
            parse_request(b"GET / HTTP/1.1\r\nHostname: no\r\nX-Host: no\r\n\r\nHost: body\r\n")
                .unwrap();
        assert_eq!(r.host, None);
        let r = parse_request(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            .unwrap();
        assert_eq!(
            (r.method, r.path, r.host),
            (
                Method::Connect,
                &b"example.com:443"[..],
                Some("example.com:443")
            )
        );
        let r = parse_request(b"OPTIONS * HTTP/1.1\r\nHost:\r\n").unwrap();
        assert_eq!(
            (r.method, r.path, r.host),
            (Method::Options, &b"*"[..], None)
        );
        for m in Method::ALL {
            assert_eq!(Method::from_bytes(m.as_str().as_bytes()), Some(m));
            assert!(looks_like_request(format!("{} /", m.as_str()).as_bytes()));
        }
    }

    #[test]
    fn garbage_is_refused() {
        for p in [
            &b""[..],
            b"GET",
            b"get / HTTP/1.1\r\n",
            b"GET / HTTP/2\r\n",
            b"POST /a \r\n",
            b"GET  HTTP/1.1\r\n",
            b"GET /a b HTTP/1.1\r\n",
            b"GET /\x01 HTTP/1.1\r\n",
            b"BREW / HTTP/1.1\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b"SSH-2.0-OpenSSH_8.7\r\n",
        ] {
            assert_eq!(parse_request(p), None, "{p:?}");
            assert_eq!(parse_response(p), None, "{p:?}");
        }
        for p in [
            &b"HTTP/1.1 20 OK\r\n"[..],
            b"HTTP/1.1 2000 OK",
            b"HTTP/1.1 abc OK",
            b"HTTP/1.1",
        ] {
            assert_eq!(parse_response(p), None, "{p:?}");
        }
        let r = parse_response(b"HTTP/1.0 404").unwrap();
        assert_eq!((r.status, r.reason), (404, &b""[..]));
        assert_eq!(
            parse_response(b"HTTP/1.1 301 Moved Perm").unwrap().reason,
            b"Moved Perm"
        );
        assert!(!looks_like_request(b"GE"));
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let seeds = [
            hex(BRO_ORG_GET),
            hex(BRO_ORG_200),
            b"CONNECT a:1 HTTP/1.1\nhost: a\n".to_vec(),
        ];
        // Bytes HTTP is made of, so mutations stay near the grammar.
        let alphabet = b" :\r\n\tHTTP/1.GEThost0123456789";
        for round in 0..20_000 {
            let m: Vec<u8> = if round % 2 == 0 {
                let mut m = seeds[rng.below(seeds.len())].clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(m.len());
                    m[i] = if rng.below(2) == 0 {
                        alphabet[rng.below(alphabet.len())]
                    } else {
                        rng.next() as u8
                    };
                }
                m.truncate(rng.below(m.len() + 1));
                m
            } else {
                (0..rng.below(200))
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            };
            let _ = looks_like_request(&m) || looks_like_response(&m);
            if let Some(r) = parse_request(&m) {
                assert!(within(&m, r.path) && r.version.is_none_or(|v| within(&m, v.as_bytes())));
                assert!(r.host.is_none_or(|h| within(&m, h.as_bytes())));
            }
            if let Some(r) = parse_response(&m) {
                assert!(within(&m, r.reason) && r.status <= 999);
            }
        }
    }
}
