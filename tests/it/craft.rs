//! Hand-made packets and capture files for tests whose expectations are computed by hand.
#![allow(dead_code)]

use std::net::IpAddr;

/// TCP flag bits.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const ACK: u8 = 0x10;

fn eth(ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(l3);
    f
}

fn ip_packet(src: &str, dst: &str, proto: u8, l4: &[u8]) -> (u16, Vec<u8>) {
    match (
        src.parse::<IpAddr>().unwrap(),
        dst.parse::<IpAddr>().unwrap(),
    ) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + l4.len()) as u16;
            let mut h = vec![0x45, 0];
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h.extend_from_slice(l4);
            (0x0800, h)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            h.extend_from_slice(&[proto, 64]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h.extend_from_slice(l4);
            (0x86DD, h)
        }
        _ => panic!("mixed families"),
    }
}

/// Ethernet + IP + TCP with `payload` zero bytes of data.
pub fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8, payload: usize) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.resize(20 + payload, 0);
    let (et, l3) = ip_packet(src, dst, 6, &t);
    eth(et, &l3)
}

/// Ethernet + IP + TCP carrying `payload`, with sequence number `seq`.
pub fn tcp_data(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: u8,
    seq: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let (et, l3) = ip_packet(src, dst, 6, &t);
    eth(et, &l3)
}

/// A TCP segment with its sequence fields, for sequence analysis tests.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    /// Payload bytes (zeros).
    pub len: usize,
    /// A SYN's options: (MSS, window scale, SACK-permitted).
    pub syn_opts: Option<(u16, u8, bool)>,
}

impl Seg {
    /// An ACK-flagged segment of `len` bytes at `seq`, acknowledging `ack`, window 1024.
    pub fn data(seq: u32, ack: u32, len: usize) -> Seg {
        Seg {
            flags: ACK,
            seq,
            ack,
            win: 1024,
            len,
            syn_opts: None,
        }
    }
}

/// Ethernet + IP + TCP with the sequence fields and options of `s`.
pub fn tcp_seg(src: &str, sport: u16, dst: &str, dport: u16, s: Seg) -> Vec<u8> {
    let mut opts = Vec::new();
    if let Some((mss, ws, sack)) = s.syn_opts {
        opts.extend_from_slice(&[2, 4]);
        opts.extend_from_slice(&mss.to_be_bytes());
        opts.extend_from_slice(&[1, 3, 3, ws]);
        if sack {
            opts.extend_from_slice(&[4, 2]);
        }
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
    }
    let doff = (20 + opts.len()) / 4;
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&s.seq.to_be_bytes());
    t.extend_from_slice(&s.ack.to_be_bytes());
    t.extend_from_slice(&[(doff as u8) << 4, s.flags]);
    t.extend_from_slice(&s.win.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(&opts);
    t.resize(doff * 4 + s.len, 0);
    let (et, l3) = ip_packet(src, dst, 6, &t);
    eth(et, &l3)
}

/// Ethernet + IP + UDP carrying `payload`.
pub fn udp_data(src: &str, sport: u16, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let (et, l3) = ip_packet(src, dst, 17, &u);
    eth(et, &l3)
}

/// A TLS 1.3 ClientHello record (RFC 8446 §4.1.2): `sni`, `alpn`, and a padding extension
/// of `padding` bytes (as browsers pad; it makes a hello that needs several segments).
pub fn client_hello(sni: &str, alpn: &[&str], padding: usize) -> Vec<u8> {
    fn with_len16(body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }
    fn ext(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut v = kind.to_be_bytes().to_vec();
        v.extend(with_len16(body));
        v
    }
    let mut name = vec![0u8];
    name.extend(with_len16(sni.as_bytes()));
    let mut protocols = Vec::new();
    for p in alpn {
        protocols.push(p.len() as u8);
        protocols.extend_from_slice(p.as_bytes());
    }
    let mut exts = ext(0, &with_len16(&name));
    exts.extend(ext(16, &with_len16(&protocols)));
    // supported_versions: TLS 1.3 and 1.2.
    exts.extend(ext(43, &[4, 0x03, 0x04, 0x03, 0x03]));
    exts.extend(ext(21, &vec![0; padding]));
    let mut hello = vec![0x03, 0x03];
    hello.extend_from_slice(&[0x11; 32]); // random
    hello.push(0); // session id
    hello.extend(with_len16(&[0x13, 0x01])); // one cipher suite
    hello.extend_from_slice(&[1, 0]); // null compression
    hello.extend(with_len16(&exts));
    let mut hs = vec![1];
    hs.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    hs.extend(hello);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend(with_len16(&hs));
    rec
}

/// A DNS message (RFC 1035 §4.1): `id`, flags, one question, and A/CNAME answers whose
/// owner names are written out (no compression).
pub fn dns(
    id: u16,
    flags: u16,
    qname: &str,
    qtype: u16,
    answers: &[(&str, u16, u32, Vec<u8>)],
) -> Vec<u8> {
    fn name(n: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for label in n.split('.') {
            v.push(label.len() as u8);
            v.extend_from_slice(label.as_bytes());
        }
        v.push(0);
        v
    }
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend(name(qname));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    for (owner, rtype, ttl, data) in answers {
        m.extend(name(owner));
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(data);
    }
    m
}

/// A DNS name in wire form (for CNAME data).
pub fn dns_name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for label in n.split('.') {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v
}

/// Ethernet + IP + UDP with `payload` zero bytes of data.
pub fn udp(src: &str, sport: u16, dst: &str, dport: u16, payload: usize) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.resize(8 + payload, 0);
    let (et, l3) = ip_packet(src, dst, 17, &u);
    eth(et, &l3)
}

/// Ethernet + IPv4 + ICMP echo request/reply.
pub fn icmp_echo(src: &str, dst: &str, reply: bool, id: u16) -> Vec<u8> {
    let mut i = vec![if reply { 0 } else { 8 }, 0, 0, 0];
    i.extend_from_slice(&id.to_be_bytes());
    i.extend_from_slice(&[0, 1]);
    let (et, l3) = ip_packet(src, dst, 1, &i);
    eth(et, &l3)
}

/// Ethernet + IP + an ICMP (IPv4) or ICMPv6 (IPv6) error of `ty`/`code` quoting `frame`'s
/// IP packet (an Ethernet frame from the builders above), cut to its IP header + 8 bytes
/// for ICMP, whole for ICMPv6, as routers send them.
pub fn icmp_error(src: &str, dst: &str, ty: u8, code: u8, frame: &[u8]) -> Vec<u8> {
    let ip = &frame[14..];
    let v6 = src.contains(':');
    let quoted = if v6 {
        ip
    } else {
        &ip[..(usize::from(ip[0] & 0x0f) * 4 + 8).min(ip.len())]
    };
    let mut m = vec![ty, code, 0, 0, 0, 0, 0x05, 0xdc];
    m.extend_from_slice(quoted);
    let (et, l3) = ip_packet(src, dst, if v6 { 58 } else { 1 }, &m);
    eth(et, &l3)
}

/// Ethernet + IP carrying protocol `proto` with `payload` zero bytes (GRE, IGMP, ...).
pub fn ip_proto(src: &str, dst: &str, proto: u8, payload: usize) -> Vec<u8> {
    let (et, l3) = ip_packet(src, dst, proto, &vec![0; payload]);
    eth(et, &l3)
}

/// An ARP request (non-IP), padded to 60 bytes.
pub fn arp() -> Vec<u8> {
    let mut f = eth(0x0806, &[0, 1, 8, 0, 6, 4, 0, 1]);
    f.resize(60, 0);
    f
}

/// One record for a capture file.
#[derive(Clone, Debug)]
pub struct Rec {
    pub ts_ns: i64,
    pub data: Vec<u8>,
    pub wire_len: u32,
}

impl Rec {
    /// A whole packet.
    pub fn new(ts_ns: i64, data: Vec<u8>) -> Self {
        let wire_len = data.len() as u32;
        Rec {
            ts_ns,
            data,
            wire_len,
        }
    }

    /// The packet cut to `snap` bytes, as `bytesToCapturePerPacket` does.
    pub fn snapped(mut self, snap: usize) -> Self {
        self.data.truncate(snap);
        self
    }
}

fn put32(v: &mut Vec<u8>, x: u32, be: bool) {
    v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
}

fn put16(v: &mut Vec<u8>, x: u16, be: bool) {
    v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
}

/// A pcap file (Ethernet) in the given byte order and time resolution.
pub fn pcap(recs: &[Rec], be: bool, nanos: bool, snaplen: u32) -> Vec<u8> {
    let mut f = Vec::new();
    put32(&mut f, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }, be);
    put16(&mut f, 2, be);
    put16(&mut f, 4, be);
    put32(&mut f, 0, be);
    put32(&mut f, 0, be);
    put32(&mut f, snaplen, be);
    put32(&mut f, 1, be);
    for r in recs {
        let frac = r.ts_ns % 1_000_000_000;
        put32(&mut f, (r.ts_ns / 1_000_000_000) as u32, be);
        put32(&mut f, if nanos { frac } else { frac / 1000 } as u32, be);
        put32(&mut f, r.data.len() as u32, be);
        put32(&mut f, r.wire_len, be);
        f.extend_from_slice(&r.data);
    }
    f
}

fn block(f: &mut Vec<u8>, btype: u32, body: &[u8], be: bool) {
    let total = (12 + body.len().div_ceil(4) * 4) as u32;
    put32(f, btype, be);
    put32(f, total, be);
    f.extend_from_slice(body);
    f.resize(f.len() + (4 - body.len() % 4) % 4, 0);
    put32(f, total, be);
}

/// A pcapng section: SHB, one Ethernet IDB with `tsresol`, EPBs, plus `extra` raw blocks
/// (type, body) inserted after the IDB.
pub fn pcapng_section(recs: &[Rec], be: bool, tsresol: u8, extra: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut ng = Ng::new();
    ng.section(be).interface(1, tsresol);
    for (t, body) in extra {
        ng.block(*t, body);
    }
    for r in recs {
        ng.packet(0, r, None);
    }
    ng.f
}

/// A pcapng file written block by block, for files whose sections and interfaces change as it
/// goes. Timestamps are written in the unit of the interface each block names, as kept in
/// `units` (nanoseconds per tick).
pub struct Ng {
    pub f: Vec<u8>,
    be: bool,
    units: Vec<i64>,
}

impl Ng {
    pub fn new() -> Ng {
        Ng {
            f: Vec::new(),
            be: false,
            units: Vec::new(),
        }
    }

    /// A section header: the byte order of what follows, and no interfaces.
    pub fn section(&mut self, be: bool) -> &mut Ng {
        self.be = be;
        self.units.clear();
        let mut shb = Vec::new();
        put32(&mut shb, 0x1A2B_3C4D, be);
        put16(&mut shb, 1, be);
        put16(&mut shb, 0, be);
        shb.extend_from_slice(&[0xff; 8]);
        block(&mut self.f, 0x0A0D_0D0A, &shb, be);
        self
    }

    /// An interface of `linktype` with an `if_tsresol` of 10^-`tsresol` seconds.
    pub fn interface(&mut self, linktype: u16, tsresol: u8) -> &mut Ng {
        let be = self.be;
        let mut idb = Vec::new();
        put16(&mut idb, linktype, be);
        put16(&mut idb, 0, be);
        put32(&mut idb, 0, be);
        put16(&mut idb, 9, be);
        put16(&mut idb, 1, be);
        idb.extend_from_slice(&[tsresol, 0, 0, 0]);
        put32(&mut idb, 0, be);
        block(&mut self.f, 1, &idb, be);
        self.units.push(10i64.pow(9 - u32::from(tsresol)));
        self
    }

    /// An Enhanced Packet Block of interface `iface`; `ticks` overrides the timestamp.
    pub fn packet(&mut self, iface: u32, r: &Rec, ticks: Option<u64>) -> &mut Ng {
        let ticks = ticks.unwrap_or((r.ts_ns / self.units[iface as usize]) as u64);
        let body = self.packet_body(iface, ticks, r);
        block(&mut self.f, 6, &body, self.be);
        self
    }

    /// An obsolete Packet Block of interface `iface`.
    pub fn obsolete_packet(&mut self, iface: u16, r: &Rec) -> &mut Ng {
        let ticks = (r.ts_ns / self.units[usize::from(iface)]) as u64;
        let mut body = self.packet_body(u32::from(iface), ticks, r);
        // A 16-bit interface and a 16-bit drop count in place of the 32-bit interface.
        let id = if self.be {
            iface.to_be_bytes()
        } else {
            iface.to_le_bytes()
        };
        body[..4].copy_from_slice(&[id[0], id[1], 0, 0]);
        block(&mut self.f, 2, &body, self.be);
        self
    }

    /// A block of type `btype` around `body`.
    pub fn block(&mut self, btype: u32, body: &[u8]) -> &mut Ng {
        block(&mut self.f, btype, body, self.be);
        self
    }

    /// An Interface Statistics Block of interface `iface` (its number in the section) with
    /// `isb_ifrecv` 1000 and the given `isb_ifdrop` and `isb_osdrop`, where given.
    pub fn statistics(&mut self, iface: u32, ifdrop: Option<u64>, osdrop: Option<u64>) -> &mut Ng {
        let be = self.be;
        let mut body = Vec::new();
        put32(&mut body, iface, be);
        put32(&mut body, 0, be);
        put32(&mut body, 1, be);
        for (code, v) in [(4u16, Some(1000)), (5, ifdrop), (7, osdrop)] {
            if let Some(v) = v {
                put16(&mut body, code, be);
                put16(&mut body, 8, be);
                body.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
            }
        }
        put32(&mut body, 0, be);
        block(&mut self.f, 5, &body, be);
        self
    }

    /// A Simple Packet Block (of interface 0, without a timestamp).
    pub fn simple_packet(&mut self, r: &Rec) -> &mut Ng {
        let mut body = Vec::new();
        put32(&mut body, r.wire_len, self.be);
        body.extend_from_slice(&r.data);
        block(&mut self.f, 3, &body, self.be);
        self
    }

    fn packet_body(&self, iface: u32, ticks: u64, r: &Rec) -> Vec<u8> {
        let be = self.be;
        let mut body = Vec::new();
        put32(&mut body, iface, be);
        put32(&mut body, (ticks >> 32) as u32, be);
        put32(&mut body, ticks as u32, be);
        put32(&mut body, r.data.len() as u32, be);
        put32(&mut body, r.wire_len, be);
        body.extend_from_slice(&r.data);
        body
    }
}

/// A pcapng file of `recs` (repeated as needed) whose walk changes its way of reading at every kind
/// of block that can change it: sections in both byte orders, interfaces added mid-section
/// alike and unlike the others, Simple and obsolete Packet Blocks among Enhanced ones, a
/// timestamp beyond the range of nanoseconds, a millisecond interface.
pub fn pcapng_shapes(recs: &[Rec]) -> Vec<u8> {
    let mut r = recs.iter().cycle();
    let mut ng = Ng::new();
    ng.section(false).interface(1, 6);
    for _ in 0..3 {
        ng.packet(0, r.next().unwrap(), None);
    }
    ng.simple_packet(r.next().unwrap());
    ng.packet(0, r.next().unwrap(), None);
    // Alike: the walk of the first shape could go on, and again after the Simple block.
    ng.interface(1, 6);
    ng.packet(1, r.next().unwrap(), None)
        .packet(0, r.next().unwrap(), None)
        .obsolete_packet(1, r.next().unwrap())
        .packet(1, r.next().unwrap(), None);
    // Unlike: another unit.
    ng.interface(1, 9);
    ng.packet(2, r.next().unwrap(), None)
        .packet(0, r.next().unwrap(), None);
    ng.section(false).interface(1, 3);
    ng.packet(0, r.next().unwrap(), None);
    ng.section(true).interface(1, 9);
    for _ in 0..3 {
        ng.packet(0, r.next().unwrap(), None);
    }
    // The first timestamp past the range of nanoseconds.
    ng.packet(0, r.next().unwrap(), Some(i64::MAX as u64));
    // From one fast shape straight to another of the same byte order.
    ng.section(true).interface(1, 6);
    ng.packet(0, r.next().unwrap(), None)
        .packet(0, r.next().unwrap(), Some((i64::MAX / 1000) as u64 + 1))
        .packet(0, r.next().unwrap(), None);
    ng.interface(1, 6);
    ng.packet(0, r.next().unwrap(), Some(u64::MAX))
        .packet(0, r.next().unwrap(), None);
    std::mem::take(&mut ng.f)
}

/// An IPv4 UDP datagram of `payload` bytes split in two fragments with IP id `id`: the first
/// carries the UDP header and 64 bytes, the second the rest (offset 9 × 8 = 72).
pub fn udp_fragments(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    id: u16,
    payload: usize,
) -> (Vec<u8>, Vec<u8>) {
    let mut udp_bytes = Vec::new();
    udp_bytes.extend_from_slice(&sport.to_be_bytes());
    udp_bytes.extend_from_slice(&dport.to_be_bytes());
    udp_bytes.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    udp_bytes.extend_from_slice(&[0, 0]);
    udp_bytes.resize(8 + payload, 0xab);
    let (s, d): (std::net::Ipv4Addr, std::net::Ipv4Addr) =
        (src.parse().unwrap(), dst.parse().unwrap());
    let frag = |part: &[u8], flags_off: u16| {
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&((20 + part.len()) as u16).to_be_bytes());
        h.extend_from_slice(&id.to_be_bytes());
        h.extend_from_slice(&flags_off.to_be_bytes());
        h.extend_from_slice(&[64, 17, 0, 0]);
        h.extend_from_slice(&s.octets());
        h.extend_from_slice(&d.octets());
        h.extend_from_slice(part);
        eth(0x0800, &h)
    };
    (frag(&udp_bytes[..72], 0x2000), frag(&udp_bytes[72..], 9))
}
