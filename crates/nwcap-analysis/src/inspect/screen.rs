//! The per-packet screen: from a packet's first payload byte and its ports, whether it may
//! start a message one of the payload parsers reads. It costs a table lookup per packet and
//! keeps no state; what it lets through is checked again, and parsed, by [`super::Inspector`].
//! It never parses.

use crate::decode::proto;

/// A TCP payload whose first byte may start a TLS record (alert 0x15, handshake 0x16), an
/// HTTP/1.x request or response (`C D G H O P T`: CONNECT, DELETE, GET, HEAD/HTTP, OPTIONS,
/// POST/PUT/PATCH, TRACE), an SSH banner (`S`) or a TPKT header (0x03, RDP).
pub(crate) const TCP: u8 = 1;
/// A UDP payload whose first byte may start a QUIC long-header packet (its two top bits set).
pub(crate) const UDP: u8 = 2;

pub(crate) const FIRST_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let tcp = [
        0x03, 0x15, 0x16, b'C', b'D', b'G', b'H', b'O', b'P', b'T', b'S',
    ];
    let mut i = 0;
    while i < tcp.len() {
        t[tcp[i] as usize] = TCP;
        i += 1;
    }
    let mut b = 0xC0;
    while b < 256 {
        t[b] = UDP;
        b += 1;
    }
    t
};

/// `table` with every byte screened in for TCP (while a split message is gathered).
pub(crate) const fn all_tcp(mut table: [u8; 256]) -> [u8; 256] {
    let mut b = 0;
    while b < 256 {
        table[b] |= TCP;
        b += 1;
    }
    table
}

/// DNS's port, on either side: DNS has no marker in its first byte.
pub(crate) const DNS_PORT: u16 = 53;

/// Whether a TCP or UDP packet with these ports and this application payload may start a
/// message worth parsing: a first byte one of the parsers starts with, or DNS's port with a
/// question count (zero in the zeros of synthetic traffic). Without branches on the
/// protocol, the byte or the port, which are coin tosses per packet: the one branch, on the
/// answer, is nearly always not taken.
#[inline(always)]
pub fn worth_a_look(protocol: u8, sport: u16, dport: u16, payload: &[u8]) -> bool {
    // FIRST_BYTE[0] is 0: an empty payload passes nothing.
    let first = payload.first().copied().unwrap_or(0);
    let tcp = protocol == proto::TCP;
    let want = (u8::from(tcp) * TCP) | (u8::from(protocol == proto::UDP) * UDP);
    // The question count's low byte (it is at most 16): byte 5, after TCP's 2-byte length
    // prefix; as `decode::fast` reads it.
    let questions = payload.get(5 + 2 * usize::from(tcp)).copied().unwrap_or(0);
    let dns = ((sport == DNS_PORT) | (dport == DNS_PORT)) & (questions != 0);
    (FIRST_BYTE[usize::from(first)] & want != 0) | dns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_screen_lets_through_message_starts_and_dns_ports_only() {
        let tcp = |p: &[u8]| worth_a_look(proto::TCP, 40000, 443, p);
        let udp = |p: &[u8]| worth_a_look(proto::UDP, 40000, 443, p);
        for start in [
            &b"\x16\x03\x01"[..],
            b"\x15\x03\x03",
            b"GET /",
            b"HTTP/1.1 200",
            b"SSH-2.0",
            b"\x03\x00",
        ] {
            assert!(tcp(start), "{start:?}");
            assert!(!udp(start), "{start:?}");
        }
        assert!(udp(&[0xc3, 0, 0, 0, 1]));
        assert!(!tcp(&[0xc3, 0, 0, 0, 1]));
        assert!(!tcp(b"\x17\x03\x03") && !tcp(&[0; 4]) && !tcp(b"") && !udp(&[0x40, 1]));
        let query = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        // (Only the count's low byte is read: more than 255 questions is not plausible.)
        assert!(worth_a_look(proto::UDP, 53, 40000, &query));
        let mut tcp_query = vec![0, 12];
        tcp_query.extend_from_slice(&query);
        assert!(worth_a_look(proto::TCP, 40000, 53, &tcp_query));
        assert!(!worth_a_look(proto::UDP, 53, 40000, &[0; 12]));
        assert!(!worth_a_look(proto::UDP, 53, 40000, b""));
        assert!(!worth_a_look(proto::UDP, 40000, 443, &query));
        assert!(!worth_a_look(proto::ICMP, 0, 0, b"GET /"));
    }
}
