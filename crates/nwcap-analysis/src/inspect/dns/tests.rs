//! The DNS parser against hand-built messages, real ones from the corpus, and noise.

use super::*;
use crate::inspect::testing::{inside as within, unhex as hex, XorShift};

fn name(n: &Name<'_>) -> String {
    let mut s = String::new();
    n.write_to(&mut s);
    s
}

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut v = vec![];
    for x in [id, flags, counts[0], counts[1], counts[2], counts[3]] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v
}

const WWW_EXAMPLE_COM: &[u8] = b"\x03www\x07example\x03com\x00";

/// www.example.com A? answered by CNAME cdn.example.com, then two A records for it; every
/// name after the question is compressed.
fn response() -> Vec<u8> {
    let mut m = header(0x1234, 0x8180, [1, 3, 0, 0]);
    m.extend_from_slice(WWW_EXAMPLE_COM);
    m.extend_from_slice(&[0, 1, 0, 1]);
    assert_eq!(m.len(), 33);
    // CNAME: name -> the question (12); target "cdn" + pointer to "example.com" (16).
    m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 6]);
    assert_eq!(m.len(), 45);
    m.extend_from_slice(&[3, b'c', b'd', b'n', 0xc0, 16]);
    for ip in [[93, 184, 216, 34], [1, 2, 3, 4]] {
        // A for the CNAME target at 45.
        m.extend_from_slice(&[0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(&ip);
    }
    assert_eq!(m.len(), 83);
    m
}

#[test]
fn query() {
    let mut m = header(0xbeef, 0x0100, [1, 0, 0, 0]);
    m.extend_from_slice(WWW_EXAMPLE_COM);
    m.extend_from_slice(&[0, 28, 0, 1]);
    let msg = parse(&m).unwrap();
    assert_eq!(
        (msg.id(), msg.is_response(), msg.opcode(), msg.rcode()),
        (0xbeef, false, 0, 0)
    );
    assert!(msg.recursion_desired());
    let q = msg.question().unwrap();
    assert_eq!(
        (name(&q.name).as_str(), q.qtype, q.qclass),
        ("www.example.com", 28, 1)
    );
    assert!(q.name.eq_str("WWW.Example.com."));
    assert!(!q.name.eq_str("www.example"));
    assert!(!q.name.eq_str("www.example.com.au"));
    assert_eq!(msg.answers().count(), 0);
    assert_eq!(q.name.to_string(), "www.example.com");
}

#[test]
fn cname_chain_then_a_records() {
    let m = response();
    let msg = parse(&m).unwrap();
    assert!(msg.is_response() && msg.recursion_available());
    assert_eq!(rcode_name(msg.rcode()), "NOERROR");
    let a: Vec<Record<'_>> = msg.answers().collect();
    assert_eq!(a.len(), 3);
    assert_eq!(
        (name(&a[0].name).as_str(), a[0].rtype, a[0].ttl),
        ("www.example.com", 5, 300)
    );
    let RData::Cname(target) = a[0].data else {
        panic!("{:?}", a[0].data)
    };
    assert_eq!(name(&target), "cdn.example.com");
    assert_eq!(a[1].name, target);
    assert_eq!(a[1].data, RData::A(Ipv4Addr::new(93, 184, 216, 34)));
    assert_eq!(a[2].data, RData::A(Ipv4Addr::new(1, 2, 3, 4)));
    assert_eq!(a[2].ttl, 60);
    // Equality ignores case and where the name lives.
    let other = b"\x03CDN\x07EXAMPLE\x03com\x00";
    assert_eq!(Name::at(other, 0).unwrap(), target);
    assert_ne!(Name::at(other, 4).unwrap(), target);
}

#[test]
fn truncated_at_every_length() {
    let m = response();
    for len in 0..=m.len() {
        let got = parse(&m[..len]);
        // Counts need 12 + 5 + 3 * 11 bytes before the message is plausible.
        assert_eq!(got.is_some(), len >= 50, "len {len}");
        let complete = [51, 67, 83].iter().filter(|&&end| end <= len).count();
        if let Some(msg) = got {
            assert_eq!(msg.answers().count(), complete, "len {len}");
        }
    }
}

#[test]
fn nxdomain() {
    let mut m = header(7, 0x8183, [1, 0, 0, 0]);
    m.extend_from_slice(WWW_EXAMPLE_COM);
    m.extend_from_slice(&[0, 1, 0, 1]);
    let msg = parse(&m).unwrap();
    assert_eq!(rcode_name(msg.rcode()), "NXDOMAIN");
    assert_eq!(msg.answers().next(), None);
}

#[test]
fn pointer_loops_terminate() {
    // The question's name points at itself, or two pointers point at each other.
    for body in [&[0xc0, 12][..], &[0xc0, 14, 0xc0, 12]] {
        let mut m = header(1, 0, [1, 0, 0, 0]);
        m.extend_from_slice(body);
        m.extend_from_slice(&[0, 1, 0, 1]);
        assert!(parse(&m).is_none());
        assert!(Name::at(&m, 12).is_none());
    }
    // A CNAME whose target loops is kept as raw rdata.
    let mut m = response();
    m[49..51].copy_from_slice(&[0xc0, 45]);
    let msg = parse(&m).unwrap();
    let first = msg.answers().next().unwrap();
    assert_eq!(first.data, RData::Other(&m[45..51]));
}

#[test]
fn pointer_and_length_caps() {
    // A chain of n pointers, each to the one before, ending at the root at 0.
    let chain = |n: usize| {
        let mut m = vec![0u8];
        for i in 0..n {
            let to = if i == 0 { 0 } else { 1 + 2 * (i - 1) };
            m.extend_from_slice(&[0xc0, to as u8]);
        }
        m
    };
    let m = chain(64);
    assert!(Name::at(&m, m.len() - 2).unwrap().is_root());
    let m = chain(65);
    assert!(Name::at(&m, m.len() - 2).is_none());
    // 4 labels of 63 plus 3 length bytes... : 255 bytes on the wire is the most.
    let build = |last: u8| {
        let mut m = vec![];
        for len in [63, 63, 63, last] {
            m.push(len);
            m.extend(std::iter::repeat_n(b'a', usize::from(len)));
        }
        m.push(0);
        m
    };
    assert!(Name::at(&build(61), 0).is_some());
    assert!(Name::at(&build(62), 0).is_none());
    // Extended label types are refused.
    assert!(Name::at(&[0x41, 0], 0).is_none());
    assert_eq!(
        Name::at(&[0], 0).map(|n| n.to_string()).as_deref(),
        Some("<Root>")
    );
}

#[test]
fn escapes_in_names() {
    let m = b"\x03a.b\x02\x01\\\x00";
    assert_eq!(Name::at(m, 0).unwrap().to_string(), "a\\.b.\\001\\\\");
}

#[test]
fn rejects_noise() {
    // Opcode 6, qdcount 0 and qdcount 17 are all refused.
    let mut m = header(1, 6 << 11, [1, 0, 0, 0]);
    m.extend_from_slice(WWW_EXAMPLE_COM);
    m.extend_from_slice(&[0, 1, 0, 1]);
    assert!(parse(&m).is_none());
    m[2..4].copy_from_slice(&[0, 0]);
    assert!(parse(&m).is_some());
    m[4..6].copy_from_slice(&[0, 0]);
    assert!(parse(&m).is_none());
    m[4..6].copy_from_slice(&[0, 17]);
    assert!(parse(&m).is_none());
    // An answer count the message cannot hold.
    m[4..6].copy_from_slice(&[0, 1]);
    m[6..8].copy_from_slice(&[0, 2]);
    assert!(parse(&m).is_none());
    assert!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").is_none());
}

#[test]
fn tcp_framing() {
    let q = response();
    let mut seg = vec![];
    for _ in 0..2 {
        seg.extend_from_slice(&(q.len() as u16).to_be_bytes());
        seg.extend_from_slice(&q);
    }
    seg.extend_from_slice(&(q.len() as u16).to_be_bytes());
    seg.extend_from_slice(&q[..10]);
    let mut it = tcp_messages(&seg);
    assert_eq!(it.next(), Some(&q[..]));
    assert_eq!(it.next(), Some(&q[..]));
    assert_eq!(it.next(), None);
    assert_eq!(it.rest().len(), 12);
    assert_eq!(tcp_messages(&[0]).count(), 0);
    assert_eq!(
        tcp_messages(&[0, 0]).collect::<Vec<_>>(),
        vec![&[0u8; 0][..]]
    );
}

#[test]
fn names_of_codes() {
    assert_eq!(rcode_name(2), "SERVFAIL");
    assert_eq!(rcode_name(5), "REFUSED");
    assert_eq!(rcode_name(200), "RCODE?");
    assert_eq!(type_name(65), "HTTPS");
    assert_eq!(type_name(64), "SVCB");
    assert_eq!(type_name(255), "ANY");
    assert_eq!(type_name(123), "TYPE123");
}

/// zeek__tunnels-Teredo.pcap frame 22: ipv6.google.com AAAA, answered by a CNAME then the
/// AAAA (tshark: ipv6.l.google.com, 2001:4860:0:2001::68), with authority and additional
/// records after.
const TEREDO_22: &str = "426381800001000200070007046970763606676f6f676c6503636f6d00001c0001046970763606676f6f676c6503636f6d0000050001000021cf00090469707636016cc026c03c001c00010000012c001020014860000020010000000000000068c041000200010001306300040161c041c041000200010001306300040162c041c041000200010001306300040163c041c041000200010001306300040164c041c041000200010001306300040165c041c041000200010001306300040166c041c041000200010001306300040167c041c06d000100010000258f0004d1558b09c07d000100010000266c000440e9b309c08d000100010001248f000440e9a109c09d0001000100012649000442f95d09c0ad00010001000026690004d1558909c0bd00010001000126490004480eeb09c0cd0001000100010a56000440e9a709";

#[test]
fn real_cname_then_aaaa() {
    let m = hex(TEREDO_22);
    let msg = parse(&m).unwrap();
    assert_eq!(
        (msg.id(), msg.ancount(), msg.nscount(), msg.arcount()),
        (0x4263, 2, 7, 7)
    );
    let q = msg.question().unwrap();
    assert_eq!(
        (name(&q.name).as_str(), type_name(q.qtype)),
        ("ipv6.google.com", "AAAA".into())
    );
    let a: Vec<_> = msg.answers().collect();
    assert_eq!(a.len(), 2);
    assert_eq!(
        (name(&a[0].name).as_str(), a[0].ttl),
        ("ipv6.google.com", 8655)
    );
    let RData::Cname(target) = a[0].data else {
        panic!()
    };
    assert_eq!(name(&target), "ipv6.l.google.com");
    assert_eq!(
        (name(&a[1].name).as_str(), a[1].ttl),
        ("ipv6.l.google.com", 300)
    );
    assert_eq!(
        a[1].data,
        RData::Aaaa("2001:4860:0:2001::68".parse().unwrap())
    );
}

#[test]
fn real_a_and_refused() {
    // Frame 63: www.wireshark.org A 67.228.110.120, TTL 14400.
    let m = hex("85e685800001000100000000037777770977697265736861726b036f72670000010001c00c0001000100003840000443e46e78");
    let msg = parse(&m).unwrap();
    let a: Vec<_> = msg.answers().collect();
    assert_eq!(a.len(), 1);
    assert_eq!(
        (name(&a[0].name).as_str(), a[0].ttl),
        ("www.wireshark.org", 14400)
    );
    assert_eq!(a[0].data, RData::A(Ipv4Addr::new(67, 228, 110, 120)));
    // Frame 61: the answer for www.wireshark.org.gateway.2wire.net, zero padding after.
    let mut m = hex("687a85050001000000000000037777770977697265736861726b036f72670767617465776179053277697265036e657400001c0001");
    m.resize(m.len() + 300, 0);
    let msg = parse(&m).unwrap();
    // tshark's rcode is 5 here: the server answered REFUSED ("dns.flags.rcode 5").
    assert_eq!(rcode_name(msg.rcode()), "REFUSED");
    assert!(msg
        .question()
        .unwrap()
        .name
        .eq_str("www.wireshark.org.gateway.2wire.net"));
}

fn check_name(msg: &[u8], n: &Name<'_>) {
    assert!(n.labels().count() <= 128);
    for l in n.labels() {
        assert!(within(msg, l));
    }
    assert_eq!(Name::at(n.message(), n.offset()).as_ref(), Some(n));
    let mut s = String::new();
    n.write_to(&mut s);
    assert_eq!(s, n.to_string());
}

fn exercise(m: &[u8]) {
    let _ = Name::at(m, 12);
    if let Some(msg) = parse(m) {
        assert!(msg.questions().count() >= 1);
        for q in msg.questions() {
            check_name(m, &q.name);
        }
        for r in msg.answers() {
            check_name(m, &r.name);
            match r.data {
                RData::Cname(n) => check_name(m, &n),
                RData::Other(d) => assert!(within(m, d)),
                _ => {}
            }
            let _ = (type_name(r.rtype), rcode_name(msg.rcode()));
        }
    }
    let mut tcp = tcp_messages(m);
    for part in tcp.by_ref() {
        assert!(within(m, part));
    }
    assert!(within(m, tcp.rest()));
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let seeds = [response(), hex(TEREDO_22)];
    for round in 0..20_000 {
        let mut m: Vec<u8> = if round % 2 == 0 {
            let mut m = seeds[rng.below(2)].clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(m.len());
                // Pointer-ish bytes make the name walker work hardest.
                m[i] = if rng.below(3) == 0 {
                    0xc0
                } else {
                    rng.next() as u8
                };
            }
            m.truncate(rng.below(m.len() + 1));
            m
        } else {
            let mut m: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            // A plausible header half the time, so bodies get walked.
            if m.len() > 12 && rng.below(2) == 0 {
                m[2..12].copy_from_slice(&[0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
            }
            m
        };
        exercise(&m);
        let off = rng.below(m.len() + 2);
        if let Some(n) = Name::at(&m, off) {
            check_name(&m, &n);
        }
        m.clear();
    }
}
