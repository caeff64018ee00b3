//! What one inspected packet said, owned and compact: the [`Event`]s a flow keeps (at most
//! [`super::EXAMINED`] of them, in packet order) and the report reads. It owns these types;
//! it never parses (that is `read`) nor decides what a flow is (that is `summary`).

/// One inspected packet's message, or [`Event::Nothing`] when it was not one after all
/// (kept so that a flow's events stay one per examined packet, which keeps the merge of
/// shards exact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Screened in, but no message parsed.
    Nothing,
    /// A TLS ClientHello (over TCP), or the one a QUIC client Initial carries.
    ClientHello(Box<Hello>),
    /// A TLS ServerHello: the version and ALPN chosen, where visible.
    ServerHello {
        /// The negotiated version (`supported_versions`, else the legacy field).
        version: u16,
        /// The ALPN protocol chosen (visible in TLS 1.2 only).
        alpn: Option<Box<str>>,
    },
    /// A TLS alert in the clear.
    Alert {
        /// 1 warning, 2 fatal.
        level: u8,
        /// RFC 8446 §6 description.
        description: u8,
    },
    /// A QUIC long-header packet whose client Initial could not be read (another version,
    /// or a ClientHello not in this datagram).
    Quic {
        /// The version field.
        version: u32,
    },
    /// An HTTP/1.x request.
    Request(Box<Request>),
    /// An HTTP/1.x response's status code.
    Response(u16),
    /// A DNS message.
    Dns(Box<Dns>),
    /// An SSH identification line, without its CR LF.
    Ssh(Box<str>),
    /// An RDP connection request.
    Rdp {
        /// The `mstshash` cookie or routing token.
        cookie: Option<Box<str>>,
        /// The requested protocols (MS-RDPBCGR 2.2.1.1.1), when a negotiation request came.
        protocols: Option<u32>,
    },
}

/// A ClientHello's names and versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// `Some(version)` for QUIC's (the QUIC version), `None` for TLS over TCP.
    pub quic: Option<u32>,
    /// Server Name Indication.
    pub sni: Option<Box<str>>,
    /// ALPN protocols offered, in order.
    pub alpn: Vec<Box<str>>,
    /// The highest version offered (`supported_versions`, else the legacy field).
    pub version: u16,
}

/// An HTTP/1.x request line and its Host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Box<str>,
    /// The Host header, when in the same segment.
    pub host: Option<Box<str>>,
    /// The request target, cut to [`PATH_MAX`] bytes.
    pub path: Box<str>,
}

/// Bytes of an HTTP path kept.
pub const PATH_MAX: usize = 128;

/// A DNS message: its id, whether it is a response, its rcode, questions and answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dns {
    /// The message id, to pair queries with responses.
    pub id: u16,
    /// QR.
    pub response: bool,
    /// The response code (0 in queries).
    pub rcode: u8,
    /// Questions: name and type.
    pub questions: Vec<(Box<str>, u16)>,
    /// A, AAAA and CNAME answers.
    pub answers: Vec<Answer>,
}

/// One DNS answer record nwcap keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The owner name.
    pub name: Box<str>,
    /// The record type (1 A, 28 AAAA, 5 CNAME).
    pub rtype: u16,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The address, or the canonical name.
    pub data: AnswerData,
}

/// An answer's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerData {
    /// A or AAAA.
    Addr(std::net::IpAddr),
    /// CNAME.
    Name(Box<str>),
}

impl std::fmt::Display for AnswerData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerData::Addr(a) => a.fmt(f),
            AnswerData::Name(n) => f.write_str(n),
        }
    }
}
