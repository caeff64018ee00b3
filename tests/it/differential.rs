//! nwcap's hand-written decoder against etherparse (an independent implementation) on every
//! packet of the corpus and on random packets: wherever etherparse decodes an IP header and a
//! transport header, nwcap must report the same addresses, protocol, ports, TCP flags and
//! ICMP type; where nwcap sees IP and etherparse does not, the packet must be one of the
//! documented differences ([`beyond_etherparse`]: MPLS and PPPoE, which etherparse does not
//! walk), else the test fails. (nwcap also decodes partial transport headers; those packets
//! are compared as far as etherparse goes.)

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use nwcap_analysis::capture::Reader;
use nwcap_analysis::decode::{decode, fast, Addr, Decoded, Fragment};
use nwcap_analysis::flow::{Keyer, Pending};
use proptest::prelude::*;

use crate::support::corpus_files;

/// What [`compare`] did with a packet.
#[derive(Debug, PartialEq)]
enum Compared {
    /// etherparse saw IP, and nwcap agreed with it.
    Ip,
    /// Neither saw IP.
    NoIp,
    /// nwcap saw IP behind a layer etherparse does not walk (named).
    Beyond(&'static str),
}

/// Why nwcap may see IP in an Ethernet frame where etherparse does not (the documented
/// differences), if it may: a layer between Ethernet (and its VLAN tags) and IP that nwcap
/// walks and etherparse does not, or an IPv4 header cut short within its options (nwcap reads
/// the addresses from its first 20 bytes; etherparse refuses the header).
fn beyond_etherparse(linktype: u16, data: &[u8]) -> Option<&'static str> {
    if linktype != 1 {
        return None;
    }
    let mut at = 12;
    while let Some(t) = data.get(at..at + 2) {
        match u16::from_be_bytes([t[0], t[1]]) {
            0x8100 | 0x88a8 | 0x9100 => at += 4,
            0x8847 | 0x8848 => return Some("MPLS"),
            0x8864 => return Some("PPPoE"),
            0x0800 => {
                let ip = &data[at + 2..];
                let ihl = usize::from(ip.first()? & 0x0f) * 4;
                return (ip.len() >= 20 && ip.len() < ihl).then_some("IPv4 options cut");
            }
            _ => return None,
        }
    }
    None
}

/// etherparse's reading of a packet of `linktype`, from the layer it can start at.
fn etherparse(linktype: u16, data: &[u8]) -> Option<LaxSlicedPacket<'_>> {
    match linktype {
        1 => LaxSlicedPacket::from_ethernet(data).ok(),
        101 | 228 | 229 => LaxSlicedPacket::from_ip(data).ok(),
        // BSD loopback: a 4-byte address family, then IP (etherparse reads the version).
        0 if data.len() >= 4 => LaxSlicedPacket::from_ip(&data[4..]).ok(),
        113 if data.len() >= 16 => Some(LaxSlicedPacket::from_ether_type(
            EtherType(u16::from_be_bytes([data[14], data[15]])),
            &data[16..],
        )),
        // Linux SLL2: the protocol type in the first two bytes, 20 bytes of header.
        276 if data.len() >= 20 => Some(LaxSlicedPacket::from_ether_type(
            EtherType(u16::from_be_bytes([data[0], data[1]])),
            &data[20..],
        )),
        _ => None,
    }
}

/// Compares one packet; returns a description of the first difference.
fn compare(linktype: u16, data: &[u8]) -> Result<Compared, String> {
    let theirs = etherparse(linktype, data);
    let ip = theirs.as_ref().and_then(|t| match &t.net {
        Some(LaxNetSlice::Ipv4(v4)) => Some((
            Addr::v4(v4.header().source()),
            Addr::v4(v4.header().destination()),
            v4.payload().ip_number.0,
            v4.is_payload_fragmented(),
            false,
        )),
        Some(LaxNetSlice::Ipv6(v6)) => Some((
            Addr::v6(v6.header().source()),
            Addr::v6(v6.header().destination()),
            v6.payload().ip_number.0,
            v6.is_payload_fragmented(),
            // etherparse walks AH too; nwcap (like tshark) stops there.
            !v6.extensions().is_empty() && v6.header().next_header().0 == 51,
        )),
        _ => None,
    });
    let Some((src, dst, proto, fragmented, ah)) = ip else {
        return match decode(linktype, data) {
            Decoded::Ip(ours) => match beyond_etherparse(linktype, data) {
                Some(layer) => Ok(Compared::Beyond(layer)),
                None => Err(format!(
                    "nwcap sees IP {} -> {}, etherparse does not",
                    ours.src, ours.dst
                )),
            },
            _ => Ok(Compared::NoIp),
        };
    };
    let theirs = theirs.unwrap();
    let Decoded::Ip(ours) = decode(linktype, data) else {
        return Err(format!("etherparse sees IP {src} -> {dst}, nwcap does not"));
    };
    if (ours.src, ours.dst) != (src, dst) {
        return Err(format!(
            "addresses {} -> {} vs {src} -> {dst}",
            ours.src, ours.dst
        ));
    }
    if ah {
        return Ok(Compared::Ip);
    }
    let ours_fragmented = ours.fragment != Fragment::None;
    if ours_fragmented != fragmented {
        return Err(format!("fragmented {ours_fragmented} vs {fragmented}"));
    }
    if !fragmented && ours.proto != proto {
        return Err(format!("protocol {} vs {proto}", ours.proto));
    }
    match &theirs.transport {
        Some(TransportSlice::Tcp(t)) => {
            if ours.ports != Some((t.source_port(), t.destination_port())) {
                return Err(format!(
                    "TCP ports {:?} vs {}/{}",
                    ours.ports,
                    t.source_port(),
                    t.destination_port()
                ));
            }
            let flags = t.slice()[13];
            if ours.tcp_flags != Some(flags) {
                return Err(format!("TCP flags {:?} vs {flags}", ours.tcp_flags));
            }
        }
        Some(TransportSlice::Udp(u))
            if ours.ports != Some((u.source_port(), u.destination_port())) =>
        {
            return Err(format!(
                "UDP ports {:?} vs {}/{}",
                ours.ports,
                u.source_port(),
                u.destination_port()
            ));
        }
        Some(TransportSlice::Icmpv4(i)) if ours.icmp.map(|x| x.0) != Some(i.type_u8()) => {
            return Err(format!("ICMP type {:?} vs {}", ours.icmp, i.type_u8()));
        }
        Some(TransportSlice::Icmpv6(i)) if ours.icmp.map(|x| x.0) != Some(i.type_u8()) => {
            return Err(format!("ICMPv6 type {:?} vs {}", ours.icmp, i.type_u8()));
        }
        _ => {}
    }
    Ok(Compared::Ip)
}

/// The fast path against the general decoder and keyer: where the fast path takes a packet,
/// both must produce the same flow key, direction and TCP flags.
pub(crate) fn compare_fast(linktype: u16, data: &[u8]) -> Result<bool, String> {
    let Some(t) = fast::tuple(linktype, data) else {
        return Ok(false);
    };
    let Decoded::Ip(p) = decode(linktype, data) else {
        return Err(format!(
            "fast path took a packet the decoder rejects: {t:?}"
        ));
    };
    let general = Pending::new(&mut Keyer::default(), &p, Some(7), 100, 60);
    let quick = Pending::fast(&t, Some(7), 100, 60);
    if general == quick {
        Ok(true)
    } else {
        Err(format!(
            "fast {:?} dir {} flags {:?}, general {:?} dir {} flags {:?}",
            quick.key.unpack(),
            quick.dir,
            quick.tcp_flags,
            general.key.unpack(),
            general.dir,
            general.tcp_flags
        ))
    }
}

/// Every record of every corpus capture, with its file and number.
fn corpus(mut each: impl FnMut(&str, usize, u16, &[u8])) {
    for path in corpus_files() {
        let Ok(opened) = nwcap_analysis::source::open(path.to_str().unwrap()) else {
            continue;
        };
        let Ok(reader) = Reader::new(opened.bytes()) else {
            continue;
        };
        for (n, rec) in reader.map_while(Result::ok).enumerate() {
            each(&path.display().to_string(), n + 1, rec.linktype, rec.data);
        }
    }
}

#[test]
fn every_corpus_packet_takes_the_same_flow_on_the_fast_path() {
    let (mut compared, mut fast) = (0, 0);
    let mut errors = Vec::new();
    corpus(|path, n, linktype, data| {
        compared += 1;
        match compare_fast(linktype, data) {
            Ok(took) => fast += usize::from(took),
            Err(e) => errors.push(format!("{path} packet {n}: {e}")),
        }
    });
    assert!(
        errors.is_empty(),
        "{} differences:\n{}",
        errors.len(),
        errors[..errors.len().min(20)].join("\n")
    );
    // The corpus is mostly plain Ethernet TCP/UDP: the fast path must be exercised.
    assert!(fast * 2 > compared, "fast path took {fast} of {compared}");
}

#[test]
fn every_corpus_packet_agrees_with_etherparse() {
    let (mut compared, mut beyond) = (0, std::collections::BTreeMap::new());
    let mut errors = Vec::new();
    corpus(|path, n, linktype, data| match compare(linktype, data) {
        Ok(Compared::Ip) => compared += 1,
        Ok(Compared::NoIp) => {}
        Ok(Compared::Beyond(layer)) => *beyond.entry(layer).or_insert(0) += 1,
        Err(e) => errors.push(format!("{path} packet {n}: {e}")),
    });
    // Only the packets both decoded as IP count (the corpus has ~91 500 of them).
    assert!(compared > 90_000, "{compared} compared");
    // The documented differences: zeek's mixed-vlan-mpls (11) and pppoe-over-qinq (86).
    assert_eq!(
        beyond,
        [("MPLS", 11), ("PPPoE", 86)].into_iter().collect(),
        "packets beyond etherparse"
    );
    assert!(
        errors.is_empty(),
        "{} differences:\n{}",
        errors.len(),
        errors[..errors.len().min(20)].join("\n")
    );
}

/// An Ethernet frame with a plausible IPv4 or IPv6 header, random contents behind it, cut
/// at a random length.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop_oneof![
            Just(6u8),
            Just(17),
            Just(1),
            Just(58),
            Just(0),
            Just(44),
            Just(60),
            any::<u8>()
        ],
        proptest::collection::vec(any::<u8>(), 40..120),
        any::<u16>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(v6, proto, mut body, frag, cut)| {
            let mut f = vec![0u8; 12];
            if v6 {
                f.extend_from_slice(&[0x86, 0xdd]);
                body[0] = 0x60;
                body[6] = proto;
                let plen = (body.len() - 40) as u16;
                body[4..6].copy_from_slice(&plen.to_be_bytes());
            } else {
                f.extend_from_slice(&[0x08, 0x00]);
                body[0] = 0x45;
                let total = body.len() as u16;
                body[2..4].copy_from_slice(&total.to_be_bytes());
                body[6..8].copy_from_slice(&(frag & 0x3fff).to_be_bytes());
                body[9] = proto;
            }
            f.extend(body);
            let keep = 14 + cut.index(f.len() - 13);
            f.truncate(keep);
            f
        })
}

proptest! {
    #![proptest_config(crate::support::proptest_config(4096))]

    #[test]
    fn random_packets_agree_with_etherparse(f in frame()) {
        // frame() never builds MPLS or PPPoE: nwcap must not see IP where etherparse does not.
        prop_assert!(matches!(compare(1, &f), Ok(Compared::Ip | Compared::NoIp)), "{:?}", compare(1, &f));
    }

    #[test]
    fn random_packets_take_the_same_flow_on_the_fast_path(
        f in frame(),
        tags in proptest::collection::vec(prop_oneof![Just(0x8100u16), Just(0x88a8), Just(0x9100)], 0..3),
    ) {
        // Insert VLAN tags between the MAC addresses and the IP ethertype.
        let mut g = f[..12].to_vec();
        for t in &tags {
            g.extend_from_slice(&t.to_be_bytes());
            g.extend_from_slice(&[0, 10]);
        }
        g.extend_from_slice(&f[12..]);
        prop_assert!(compare_fast(1, &f).is_ok(), "{:?}", compare_fast(1, &f));
        prop_assert!(compare_fast(1, &g).is_ok(), "{:?}", compare_fast(1, &g));
    }

    /// The fields the fast path tests without branching (version and header length, the
    /// lengths, the fragment word), set at random, IPv4's and IPv6's alike, whatever the
    /// ethertype says.
    #[test]
    fn random_ip_header_fields_take_the_same_flow_on_the_fast_path(
        f in frame(),
        first in any::<u8>(),
        lengths in any::<[u8; 6]>(),
        which in 0u8..16,
    ) {
        let g = set_ip_fields(f, first, lengths, which);
        prop_assert!(compare_fast(1, &g).is_ok(), "{:?}", compare_fast(1, &g));
    }

    /// The same damaged headers against etherparse, the version kept as the ethertype says
    /// (etherparse follows the version, nwcap the ethertype): neither may see IP where the
    /// other does not, nor read it differently.
    #[test]
    fn random_ip_header_fields_agree_with_etherparse(
        f in frame(),
        low in 0u8..16,
        lengths in any::<[u8; 6]>(),
        which in 0u8..16,
    ) {
        let first = (f.get(14).copied().unwrap_or(0) & 0xf0) | low;
        let g = set_ip_fields(f, first, lengths, which);
        prop_assert!(
            matches!(compare(1, &g), Ok(Compared::Ip | Compared::NoIp | Compared::Beyond("IPv4 options cut"))),
            "{:?}",
            compare(1, &g)
        );
    }
}

/// `f` with its IP header's first byte, length fields and fragment word set from `first` and
/// `lengths` as the bits of `which` choose.
fn set_ip_fields(mut g: Vec<u8>, first: u8, lengths: [u8; 6], which: u8) -> Vec<u8> {
    let ip = 14;
    for (bit, at) in [(1, 0), (2, 2), (4, 4)] {
        if which & bit != 0 && g.len() > ip + at + 1 {
            if at == 0 {
                g[ip] = first;
            } else {
                g[ip + at..ip + at + 2].copy_from_slice(&lengths[at - 2..at]);
            }
        }
    }
    if which & 8 != 0 && g.len() > ip + 7 {
        g[ip + 6..ip + 8].copy_from_slice(&lengths[4..6]);
    }
    g
}
