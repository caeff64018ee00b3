//! The start of an RDP connection (MS-RDPBCGR 2.2.1.1 and 2.2.1.2): the client's TPKT + X.224
//! Connection Request with its cookie or routing token and the security protocols it asks
//! for, and the server's Connection Confirm with the protocol chosen or the failure.
//!
//! It owns only those two PDUs: it never follows the connection into TLS or MCS, never copies
//! (the cookie borrows the payload), never panics, and reads a fixed number of fields.

/// Standard RDP security: the value when no flag is set.
pub const PROTOCOL_RDP: u32 = 0;
/// TLS 1.0, 1.1 or 1.2.
pub const PROTOCOL_SSL: u32 = 0x1;
/// CredSSP (NLA), which implies TLS.
pub const PROTOCOL_HYBRID: u32 = 0x2;
pub const PROTOCOL_RDSTLS: u32 = 0x4;
/// CredSSP with the Early User Authorization Result PDU.
pub const PROTOCOL_HYBRID_EX: u32 = 0x8;
/// Azure AD authentication.
pub const PROTOCOL_RDSAAD: u32 = 0x10;

const PROTOCOLS: [(u32, &str); 5] = [
    (PROTOCOL_SSL, "SSL"),
    (PROTOCOL_HYBRID, "HYBRID"),
    (PROTOCOL_RDSTLS, "RDSTLS"),
    (PROTOCOL_HYBRID_EX, "HYBRID_EX"),
    (PROTOCOL_RDSAAD, "RDSAAD"),
];

/// X.224 TPDU codes (high nibble; the low one is the credit, 0 in RDP).
const X224_CR: u8 = 0xe0;
const X224_CC: u8 = 0xd0;
/// TPKT header and the fixed X.224 Connection Request/Confirm header.
const FIXED_LEN: usize = 4 + 7;

/// The client's Connection Request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionRequest<'a> {
    /// IDENTIFIER in `Cookie: mstshash=IDENTIFIER\r\n`: usually the user name as typed,
    /// which clients truncate to 9 characters.
    pub cookie: Option<&'a [u8]>,
    /// A load balancer's routing token instead of a cookie: what follows `Cookie: ` (e.g.
    /// `msts=3640205228.15629.0000`), without the CR LF.
    pub routing_token: Option<&'a [u8]>,
    /// The RDP Negotiation Request, absent in clients older than RDP 5.2 or when cut off.
    pub negotiation: Option<NegotiationRequest>,
}

impl<'a> ConnectionRequest<'a> {
    /// The cookie as text, when it is UTF-8.
    pub fn cookie_str(&self) -> Option<&'a str> {
        self.cookie.and_then(|c| std::str::from_utf8(c).ok())
    }
}

/// RDP Negotiation Request (type 0x01), MS-RDPBCGR 2.2.1.1.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegotiationRequest {
    /// RESTRICTED_ADMIN_MODE_REQUIRED 0x01, REDIRECTED_AUTHENTICATION_MODE_REQUIRED 0x02,
    /// CORRELATION_INFO_PRESENT 0x08.
    pub flags: u8,
    /// `PROTOCOL_*` flags; name them with [`protocol_names`].
    pub requested_protocols: u32,
}

/// What the server's Connection Confirm says, MS-RDPBCGR 2.2.1.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Negotiation {
    /// No negotiation structure: standard RDP security, as old servers answer.
    Absent,
    /// RDP Negotiation Response (type 0x02): the `PROTOCOL_*` value chosen.
    Selected(u32),
    /// RDP Negotiation Failure (type 0x03): e.g. 1 SSL_REQUIRED_BY_SERVER, 5
    /// HYBRID_REQUIRED_BY_SERVER.
    Failure(u32),
}

/// A cheap test on a payload's first bytes: a TPKT header (version 3, reserved 0).
pub fn looks_like_tpkt(first: &[u8]) -> bool {
    first.starts_with(&[3, 0])
}

/// The TPKT's X.224 TPDU with the given code: its variable part after the fixed 7 bytes,
/// within both the TPKT length and the X.224 length indicator (and the payload).
fn tpdu(payload: &[u8], code: u8) -> Option<&[u8]> {
    let &[3, 0, len_hi, len_lo, li, tpdu_code] = payload.get(..6)? else {
        return None;
    };
    let (tpkt_len, li) = (
        usize::from(u16::from_be_bytes([len_hi, len_lo])),
        usize::from(li),
    );
    if tpdu_code & 0xf0 != code || li < 6 || tpkt_len < FIXED_LEN {
        return None;
    }
    // The indicator counts the bytes after itself; the TPKT length counts its own header too.
    let end = tpkt_len.min(li.checked_add(5)?).min(payload.len());
    payload.get(FIXED_LEN..end.max(FIXED_LEN))
}

/// Parses the client's X.224 Connection Request (code 0xE0).
pub fn parse_connection_request(payload: &[u8]) -> Option<ConnectionRequest<'_>> {
    let mut rest = tpdu(payload, X224_CR)?;
    let mut req = ConnectionRequest {
        cookie: None,
        routing_token: None,
        negotiation: None,
    };
    if let Some(after) = rest.strip_prefix(b"Cookie: ") {
        // The token or cookie ends with CR LF; without one the PDU is cut and nothing after
        // it can be located: the request is returned with what was complete, the header.
        let Some(crlf) = after.windows(2).position(|w| w == b"\r\n") else {
            return Some(req);
        };
        let value = after.get(..crlf)?;
        match value.strip_prefix(b"mstshash=") {
            Some(name) => req.cookie = Some(name),
            None => req.routing_token = Some(value),
        }
        rest = after.get(crlf.checked_add(2)?..)?;
    }
    req.negotiation = match rest.get(..8) {
        Some(&[1, flags, 8, 0, a, b, c, d]) => Some(NegotiationRequest {
            flags,
            requested_protocols: u32::from_le_bytes([a, b, c, d]),
        }),
        _ => None,
    };
    Some(req)
}

/// Parses the server's X.224 Connection Confirm (code 0xD0).
pub fn parse_connection_confirm(payload: &[u8]) -> Option<Negotiation> {
    let rest = tpdu(payload, X224_CC)?;
    Some(match rest.get(..8) {
        Some(&[2, _, 8, 0, a, b, c, d]) => Negotiation::Selected(u32::from_le_bytes([a, b, c, d])),
        Some(&[3, _, 8, 0, a, b, c, d]) => Negotiation::Failure(u32::from_le_bytes([a, b, c, d])),
        _ => Negotiation::Absent,
    })
}

/// The names of the `PROTOCOL_*` flags set, lowest bit first (`SSL`, `HYBRID`, `RDSTLS`,
/// `HYBRID_EX`, `RDSAAD`), or `RDP` alone for 0. Bits without a name are left out: see
/// [`unknown_protocol_bits`].
pub fn protocol_names(flags: u32) -> impl Iterator<Item = &'static str> {
    let rdp = (flags == PROTOCOL_RDP).then_some("RDP");
    rdp.into_iter().chain(
        PROTOCOLS
            .iter()
            .filter(move |(bit, _)| flags & bit != 0)
            .map(|&(_, name)| name),
    )
}

/// The bits of `flags` that [`protocol_names`] does not name.
pub fn unknown_protocol_bits(flags: u32) -> u32 {
    PROTOCOLS.iter().fold(flags, |left, (bit, _)| left & !bit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::testing::{inside as within, XorShift};

    /// MS-RDPBCGR 4.1.1: Client X.224 Connection Request PDU, cookie "eltons", standard RDP.
    const SPEC_CR: [u8; 44] = [
        0x03, 0x00, 0x00, 0x2c, 0x27, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x6f, 0x6f, 0x6b,
        0x69, 0x65, 0x3a, 0x20, 0x6d, 0x73, 0x74, 0x73, 0x68, 0x61, 0x73, 0x68, 0x3d, 0x65, 0x6c,
        0x74, 0x6f, 0x6e, 0x73, 0x0d, 0x0a, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// A Connection Request with `token` (the whole line, CR LF included, or nothing) and a
    /// negotiation request for `protocols`.
    fn request(token: &[u8], protocols: Option<u32>) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0, 0, 0xe0, 0, 0, 0, 0, 0];
        v.extend_from_slice(token);
        if let Some(p) = protocols {
            v.extend_from_slice(&[1, 0, 8, 0]);
            v.extend_from_slice(&p.to_le_bytes());
        }
        let len = v.len() as u16;
        v[..4].copy_from_slice(&[3, 0, (len >> 8) as u8, len as u8]);
        v[4] = (len - 5) as u8;
        v
    }

    #[test]
    fn spec_example() {
        assert!(looks_like_tpkt(&SPEC_CR));
        let r = parse_connection_request(&SPEC_CR).unwrap();
        assert_eq!(r.cookie_str(), Some("eltons"));
        assert_eq!(r.routing_token, None);
        let n = r.negotiation.unwrap();
        assert_eq!((n.flags, n.requested_protocols), (0, PROTOCOL_RDP));
        assert_eq!(
            protocol_names(n.requested_protocols).collect::<Vec<_>>(),
            ["RDP"]
        );
        assert_eq!(request(b"Cookie: mstshash=eltons\r\n", Some(0)), SPEC_CR);
    }

    #[test]
    fn cookie_token_and_protocols() {
        let p = request(
            b"Cookie: mstshash=Administr\r\n",
            Some(PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX),
        );
        let r = parse_connection_request(&p).unwrap();
        assert_eq!(r.cookie, Some(&b"Administr"[..]));
        let flags = r.negotiation.unwrap().requested_protocols;
        assert_eq!(
            protocol_names(flags).collect::<Vec<_>>(),
            ["SSL", "HYBRID", "HYBRID_EX"]
        );
        let p = request(
            b"Cookie: msts=3640205228.15629.0000\r\n",
            Some(PROTOCOL_RDSTLS),
        );
        let r = parse_connection_request(&p).unwrap();
        assert_eq!(
            (r.cookie, r.routing_token),
            (None, Some(&b"msts=3640205228.15629.0000"[..]))
        );
        assert_eq!(
            protocol_names(r.negotiation.unwrap().requested_protocols).collect::<Vec<_>>(),
            ["RDSTLS"]
        );
        // No token, no negotiation (an RDP 5.0 client).
        let p = request(b"", None);
        let r = parse_connection_request(&p).unwrap();
        assert_eq!(
            r,
            ConnectionRequest {
                cookie: None,
                routing_token: None,
                negotiation: None
            }
        );
        let p = request(b"", Some(PROTOCOL_SSL));
        let r = parse_connection_request(&p).unwrap();
        assert_eq!(
            r.negotiation.map(|n| n.requested_protocols),
            Some(PROTOCOL_SSL)
        );
        assert_eq!(unknown_protocol_bits(0x1f | 0x100), 0x100);
        assert_eq!(protocol_names(0x100).count(), 0);
    }

    #[test]
    fn truncated_and_refused() {
        let full = request(b"Cookie: mstshash=bob\r\n", Some(PROTOCOL_HYBRID));
        for len in 0..full.len() {
            let r = parse_connection_request(&full[..len]);
            match len {
                0..11 => assert_eq!(r, None, "len {len}"),
                // The cookie's CR LF is missing until byte 33: only the header is known.
                11..33 => assert_eq!(r.unwrap(), ConnectionRequest::default(), "len {len}"),
                _ => {
                    let r = r.unwrap();
                    assert_eq!(
                        (r.cookie, r.negotiation),
                        (Some(&b"bob"[..]), None),
                        "len {len}"
                    );
                }
            }
        }
        let mut bad = full.clone();
        bad[0] = 4;
        assert_eq!(parse_connection_request(&bad), None);
        let mut bad = full.clone();
        bad[5] = 0xd0;
        assert_eq!(parse_connection_request(&bad), None);
        // A length indicator shorter than the cookie hides it.
        let mut short = full.clone();
        short[4] = 6;
        assert_eq!(parse_connection_request(&short).unwrap().cookie, None);
        // A negotiation request with a wrong length field is ignored.
        let mut odd = full;
        let at = odd.len() - 6;
        odd[at] = 9;
        assert_eq!(parse_connection_request(&odd).unwrap().negotiation, None);
    }

    #[test]
    fn connection_confirm() {
        let cc = |body: &[u8]| {
            let mut v = vec![
                3,
                0,
                0,
                (11 + body.len()) as u8,
                (6 + body.len()) as u8,
                0xd0,
                0,
                0,
                0x12,
                0x34,
                0,
            ];
            v.extend_from_slice(body);
            v
        };
        assert_eq!(
            parse_connection_confirm(&cc(&[2, 0x1f, 8, 0, 2, 0, 0, 0])),
            Some(Negotiation::Selected(PROTOCOL_HYBRID))
        );
        assert_eq!(
            parse_connection_confirm(&cc(&[3, 0, 8, 0, 5, 0, 0, 0])),
            Some(Negotiation::Failure(5))
        );
        assert_eq!(
            parse_connection_confirm(&cc(&[])),
            Some(Negotiation::Absent)
        );
        assert_eq!(parse_connection_confirm(&SPEC_CR), None);
        assert_eq!(parse_connection_request(&cc(&[])), None);
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = XorShift(0x1234_5678_9abc_def1);
        let seeds = [
            SPEC_CR.to_vec(),
            request(b"Cookie: msts=1.2.3\r\n", Some(0xb)),
        ];
        for round in 0..20_000 {
            let m: Vec<u8> = if round % 2 == 0 {
                let mut m = seeds[rng.below(2)].clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(m.len());
                    m[i] = rng.next() as u8;
                }
                m.truncate(rng.below(m.len() + 1));
                m
            } else {
                let mut m: Vec<u8> = (0..rng.below(80)).map(|_| rng.next() as u8).collect();
                if m.len() > 6 {
                    m[..2].copy_from_slice(&[3, 0]);
                    m[5] = if rng.below(2) == 0 { 0xe0 } else { 0xd0 };
                }
                m
            };
            let _ = (looks_like_tpkt(&m), parse_connection_confirm(&m));
            if let Some(r) = parse_connection_request(&m) {
                for part in [r.cookie, r.routing_token].into_iter().flatten() {
                    assert!(within(&m, part));
                }
                if let Some(n) = r.negotiation {
                    let names = protocol_names(n.requested_protocols).count();
                    assert!(names <= 5 && unknown_protocol_bits(n.requested_protocols) & 0x1f == 0);
                }
            }
        }
    }
}
