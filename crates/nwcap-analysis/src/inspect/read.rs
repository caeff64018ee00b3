//! From a screened payload to an [`Event`]: which parser may read it ([`kind`], a check of
//! its first bytes that random data almost never passes), and the parse itself
//! ([`message`]) by the protocol modules. It owns the translation of their borrowed answers
//! into owned events; it never keeps state across packets (that is the `Inspector`).

use super::event::{Answer, AnswerData, Dns, Event, Hello, Request, PATH_MAX};
use super::{dns, http, quic, rdp, ssh, tls};
use crate::decode::proto;

/// Which parser a payload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A TLS record over TCP.
    Tls,
    /// A QUIC long-header packet.
    Quic,
    /// An HTTP/1.x request or response.
    Http,
    /// A DNS message (UDP, or TCP with its length prefix).
    Dns,
    /// An SSH identification line.
    Ssh,
    /// A TPKT/X.224 connection request.
    Rdp,
}

/// What [`message`] made of a payload.
#[derive(Debug)]
pub enum Read {
    /// The message (or [`Event::Nothing`]).
    Event(Event),
    /// A TLS handshake message that goes on past this segment: this many bytes in all.
    Need(usize),
}

const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// Which parser `payload` is for, if any: its first bytes must be that protocol's (DNS:
/// port 53 and a plausible header).
pub fn kind(protocol: u8, (sport, dport): (u16, u16), payload: &[u8]) -> Option<Kind> {
    let dns_port = sport == 53 || dport == 53;
    match protocol {
        proto::TCP => {
            if dns_port {
                return dns_header(payload.get(2..)?).map(|_| Kind::Dns);
            }
            match payload {
                [0x15 | 0x16, 0x03, 0..=4, ..] => Some(Kind::Tls),
                [b'S', b'S', b'H', b'-', ..] => Some(Kind::Ssh),
                [b'H', b'T', b'T', b'P', b'/', b'1', b'.', ..] => Some(Kind::Http),
                // TPKT version 3, then X.224's length and its Connection Request code.
                [0x03, 0x00, _, _, _, cr, ..] if cr & 0xf0 == 0xe0 => Some(Kind::Rdp),
                _ if METHODS.iter().any(|m| payload.starts_with(m)) => Some(Kind::Http),
                _ => None,
            }
        }
        proto::UDP => {
            if dns_port {
                return dns_header(payload).map(|_| Kind::Dns);
            }
            // A long header: form and fixed bits set, then a version (0 is version
            // negotiation, which carries no Initial).
            match payload {
                [first, v0, v1, v2, v3, ..]
                    if first & 0xc0 == 0xc0 && u32::from_be_bytes([*v0, *v1, *v2, *v3]) != 0 =>
                {
                    Some(Kind::Quic)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// A DNS header that random bytes (and the zeros of synthetic captures) rarely make: a
/// standard opcode (0..=5 but 3), one to 16 questions, and record counts the message could
/// hold. `Some(QR)`.
fn dns_header(m: &[u8]) -> Option<bool> {
    let h = m.get(..12)?;
    let count = |i: usize| usize::from(u16::from_be_bytes([h[i], h[i + 1]]));
    let opcode = (h[2] >> 3) & 0x0f;
    let records = count(6) + count(8) + count(10);
    let plausible = opcode <= 5
        && opcode != 3
        && (1..=16).contains(&count(4))
        // A question takes at least 5 bytes, a record 11.
        && 12 + 5 * count(4) + 11 * records <= m.len().max(512);
    plausible.then_some(h[2] & 0x80 != 0)
}

/// Whether a DNS payload (UDP, or TCP with its length prefix) is a response; `None` when
/// its header is not plausible.
pub fn dns_direction(payload: &[u8], protocol: u8) -> Option<bool> {
    let m = if protocol == proto::TCP {
        payload.get(2..)?
    } else {
        payload
    };
    dns_header(m)
}

/// Parses a payload [`kind`] assigned to a parser.
pub fn message(kind: Kind, protocol: u8, payload: &[u8]) -> Read {
    Read::Event(match kind {
        Kind::Tls => match tls::parse(payload) {
            Ok(m) => tls_event(&m),
            Err(tls::Need::Bytes(n)) => return Read::Need(n),
            // A hello over several records: joined in a buffer of its own (rare).
            Err(tls::Need::Join) => {
                let mut joined = Vec::new();
                match tls::join_handshake(payload, &mut joined) {
                    Ok(()) => {
                        tls::parse_handshake(&joined).map_or(Event::Nothing, |m| tls_event(&m))
                    }
                    Err(_) => Event::Nothing,
                }
            }
            Err(tls::Need::Invalid) => Event::Nothing,
        },
        Kind::Quic => quic_event(payload),
        Kind::Dns => {
            let msg = if protocol == proto::TCP {
                dns::tcp_messages(payload).next()
            } else {
                Some(payload)
            };
            msg.and_then(dns::parse)
                .map_or(Event::Nothing, |m| dns_event(&m))
        }
        Kind::Http => {
            if let Some(r) = http::parse_request(payload) {
                let path = r.path_str().unwrap_or("");
                let mut cut = path.len().min(PATH_MAX);
                while !path.is_char_boundary(cut) {
                    cut -= 1;
                }
                Event::Request(Box::new(Request {
                    method: text(r.method.as_str()),
                    host: r.host.map(text),
                    path: text(&path[..cut]),
                }))
            } else if let Some(r) = http::parse_response(payload) {
                Event::Response(r.status)
            } else {
                Event::Nothing
            }
        }
        Kind::Ssh => ssh::parse_ident(payload).map_or(Event::Nothing, |i| Event::Ssh(text(i.line))),
        Kind::Rdp => match rdp::parse_connection_request(payload) {
            Some(c) => Event::Rdp {
                cookie: c
                    .cookie_str()
                    .or_else(|| c.routing_token.and_then(|t| std::str::from_utf8(t).ok()))
                    .map(text),
                protocols: c.negotiation.map(|n| n.requested_protocols),
            },
            None => Event::Nothing,
        },
    })
}

/// Questions and answers kept per message.
const DNS_KEPT: usize = 16;

fn dns_event(m: &dns::Message<'_>) -> Event {
    let name = |n: &dns::Name<'_>| {
        let mut s = String::new();
        n.write_to(&mut s);
        s.into_boxed_str()
    };
    let questions = m
        .questions()
        .take(DNS_KEPT)
        .map(|q| (name(&q.name), q.qtype))
        .collect();
    let answers = m
        .answers()
        .filter_map(|r| {
            let data = match r.data {
                dns::RData::A(a) => AnswerData::Addr(a.into()),
                dns::RData::Aaaa(a) => AnswerData::Addr(a.into()),
                dns::RData::Cname(c) => AnswerData::Name(name(&c)),
                dns::RData::Other(_) => return None,
            };
            Some(Answer {
                name: name(&r.name),
                rtype: r.rtype,
                ttl: r.ttl,
                data,
            })
        })
        .take(DNS_KEPT)
        .collect();
    Event::Dns(Box::new(Dns {
        id: m.id(),
        response: m.is_response(),
        rcode: m.rcode(),
        questions,
        answers,
    }))
}

fn text(s: &str) -> Box<str> {
    s.into()
}

fn tls_event(m: &tls::Message<'_>) -> Event {
    match m {
        tls::Message::ClientHello(h) => Event::ClientHello(Box::new(Hello {
            quic: None,
            sni: h.sni.map(text),
            alpn: h.alpn.as_slice().iter().map(|a| text(a)).collect(),
            version: h.max_version(),
        })),
        tls::Message::ServerHello(h) => Event::ServerHello {
            version: h.version(),
            alpn: h.alpn.map(text),
        },
        tls::Message::Alert(a) => Event::Alert {
            level: a.level,
            description: a.description,
        },
        _ => Event::Nothing,
    }
}

/// The event of a QUIC ClientHello (of version `quic`).
pub fn quic_hello(quic: u32, h: &tls::ClientHello<'_>) -> Event {
    Event::ClientHello(Box::new(Hello {
        quic: Some(quic),
        sni: h.sni.map(text),
        alpn: h.alpn.as_slice().iter().map(|a| text(a)).collect(),
        version: h.max_version(),
    }))
}

/// A client Initial's ClientHello when it is in this datagram, else the version alone.
fn quic_event(payload: &[u8]) -> Event {
    if let Some(s) = quic::client_initial_summary(payload) {
        let version = s.tls_versions.iter().copied().max().unwrap_or(0);
        return Event::ClientHello(Box::new(Hello {
            quic: Some(s.quic_version),
            sni: s.sni.map(String::into_boxed_str),
            alpn: s.alpn.into_iter().map(String::into_boxed_str).collect(),
            version,
        }));
    }
    match quic::parse_long_header(payload) {
        Some(h) => Event::Quic { version: h.version },
        None => Event::Nothing,
    }
}
