//! TCP, UDP, ICMP and ICMPv6: ports, flags, ICMP type/code and echo identifier, each only
//! when its bytes were captured, and TCP's sequence fields (`tcp.rs`).

use super::tcp::Segment;
use super::{proto, Addr, Fragment, IpPacket};

/// Builds the packet summary from the transport bytes (`None` for a non-first fragment).
#[inline]
pub(super) fn fill(
    src: Addr,
    dst: Addr,
    protocol: u8,
    fragment: Fragment,
    payload: Option<&[u8]>,
    l4_len: usize,
) -> IpPacket {
    let mut p = IpPacket {
        src,
        dst,
        proto: protocol,
        ports: None,
        tcp_flags: None,
        icmp: None,
        icmp_echo_id: None,
        fragment,
        seg: Segment::default(),
        quoted: None,
    };
    let Some(t) = payload else {
        return p;
    };
    match protocol {
        proto::TCP | proto::UDP => {
            if let Some(h) = t.get(..4) {
                p.ports = Some((
                    u16::from_be_bytes([h[0], h[1]]),
                    u16::from_be_bytes([h[2], h[3]]),
                ));
            }
            if protocol == proto::TCP {
                p.tcp_flags = t.get(13).copied();
                p.seg = Segment::parse(t, l4_len);
            }
        }
        proto::ICMP | proto::ICMPV6 => {
            if let (Some(&ty), Some(&code)) = (t.first(), t.get(1)) {
                p.icmp = Some((ty, code));
                p.quoted = super::icmp::quoted(protocol == proto::ICMPV6, t);
                let echo = if protocol == proto::ICMP {
                    ty == 8 || ty == 0
                } else {
                    ty == 128 || ty == 129
                };
                if echo {
                    if let Some(id) = t.get(4..6) {
                        p.icmp_echo_id = Some(u16::from_be_bytes([id[0], id[1]]));
                    }
                }
            }
        }
        _ => {}
    }
    p
}
