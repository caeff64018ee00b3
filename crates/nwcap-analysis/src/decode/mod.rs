//! Packet decoding: link layer → outermost IP header → TCP/UDP/ICMP fields.
//!
//! [`decode`] reads only the few fields flow accounting needs, straight from the borrowed
//! packet bytes, and returns a small `Copy` summary; it never allocates, never copies the
//! packet and never panics (every read is bounds-checked). A packet cut short by the snap
//! length keeps every field that was captured: addresses without ports, ports without TCP
//! flags. Only the outermost IP header counts: an ICMP error's quoted header or a tunnel's
//! inner packet never turns into a TCP/UDP flow of its own.

pub mod fast;
pub mod icmp;
mod ip;
mod ip_proto;
mod link;
pub mod tcp;
mod transport;

/// The report's name of a link type; `capture::linktype` holds the table.
pub use crate::capture::linktype::name as linktype_name;
pub use ip_proto::proto_name;

/// An IP address in 16 bytes (IPv4 in the first four) plus its family, cheap to hash and copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Addr {
    /// `true` for IPv6.
    pub v6: bool,
    /// Address bytes; for IPv4 the last 12 are zero.
    pub bytes: [u8; 16],
}

impl Addr {
    /// An IPv4 address.
    pub fn v4(b: [u8; 4]) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&b);
        Addr { v6: false, bytes }
    }

    /// An IPv6 address.
    pub fn v6(bytes: [u8; 16]) -> Self {
        Addr { v6: true, bytes }
    }

    /// As a standard library address.
    pub fn to_ip(self) -> std::net::IpAddr {
        if self.v6 {
            std::net::IpAddr::V6(self.bytes.into())
        } else {
            let [a, b, c, d, ..] = self.bytes;
            std::net::IpAddr::V4([a, b, c, d].into())
        }
    }
}

impl From<std::net::IpAddr> for Addr {
    fn from(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(a) => Addr::v4(a.octets()),
            std::net::IpAddr::V6(a) => Addr::v6(a.octets()),
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_ip().fmt(f)
    }
}

/// IP protocol numbers nwcap names.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// Where a packet sits in IP fragmentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// Not fragmented.
    None,
    /// Offset 0 with more fragments to come: carries the transport header. `proto` is the
    /// protocol that identifies the datagram (IPv4 protocol field, IPv6 fragment header's
    /// next header).
    First { id: u32, proto: u8 },
    /// Offset > 0: no transport header; belongs to the datagram with this id and `proto`.
    Later { id: u32, proto: u8 },
}

/// TCP flag bits as in the header's 13th byte.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
}

/// The fields of an IP packet that flow accounting uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpPacket {
    /// Source address of the outermost IP header.
    pub src: Addr,
    /// Destination address of the outermost IP header.
    pub dst: Addr,
    /// Transport protocol (after IPv6 extension headers).
    pub proto: u8,
    /// Source and destination ports when the header is TCP/UDP and they were captured.
    pub ports: Option<(u16, u16)>,
    /// TCP flags when captured.
    pub tcp_flags: Option<u8>,
    /// ICMP/ICMPv6 type and code when captured.
    pub icmp: Option<(u8, u8)>,
    /// Echo identifier of an ICMP/ICMPv6 echo request or reply.
    pub icmp_echo_id: Option<u16>,
    /// Fragmentation state.
    pub fragment: Fragment,
    /// TCP sequence fields (`ok == false` when not TCP or not captured).
    pub seg: tcp::Segment,
    /// The packet an ICMP/ICMPv6 error quotes.
    pub quoted: Option<icmp::Quoted>,
}

/// Why a packet yielded no IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonIp {
    /// The link type is not one nwcap decodes (see `capture::linktype`).
    UnsupportedLinkType,
    /// The link-layer header is cut short.
    TruncatedLink,
    /// The link layer carries something else (ARP, LLDP, …).
    OtherProtocol,
    /// An IP header whose addresses were not captured or make no sense.
    BadIp,
}

/// The result of decoding one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// An IP packet.
    Ip(IpPacket),
    /// Anything else.
    NonIp(NonIp),
}

/// Decodes a packet of the given link type.
#[inline]
pub fn decode(linktype: u16, data: &[u8]) -> Decoded {
    decode_with_payload(linktype, data).0
}

/// [`decode`], and the packet's application payload: the bytes after a TCP or UDP header
/// that were captured, up to the end the IP header gives (empty for anything else).
#[inline]
pub fn decode_with_payload(linktype: u16, data: &[u8]) -> (Decoded, &[u8]) {
    match link::network_layer(linktype, data) {
        Ok((l3, bytes)) => match ip::decode(l3, bytes) {
            Some((p, transport)) => {
                let payload = match p.proto {
                    // A data offset below the header's own 20 bytes is invalid: no payload.
                    proto::TCP => transport
                        .get(12)
                        .filter(|&&off| off >> 4 >= 5)
                        .and_then(|&off| transport.get(usize::from(off >> 4) * 4..)),
                    proto::UDP => transport.get(8..),
                    _ => None,
                };
                (Decoded::Ip(p), payload.unwrap_or(&[]))
            }
            None => (Decoded::NonIp(NonIp::BadIp), &[]),
        },
        Err(reason) => (Decoded::NonIp(reason), &[]),
    }
}
