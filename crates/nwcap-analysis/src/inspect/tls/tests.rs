//! Tests of the TLS reader: RFC 8448's hellos, built hellos (whole, split over segments and
//! over records), alerts, a real capture's ClientHello, and random and truncated bytes.

use super::*;
use crate::inspect::testing::{inside, unhex, XorShift};

/// RFC 8448 §3, the ClientHello handshake message (header included).
const RFC8448_CH: &str = concat!(
    "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece700000613011303130201",
    "0000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400",
    "230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b00",
    "03020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c",
    "00024001",
);

/// RFC 8448 §3, the ServerHello record.
const RFC8448_SH_RECORD: &str = concat!(
    "160303005a020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100",
    "002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304",
);

/// The ClientHello of zeek__pppoe-over-qinq.pcap frame 4 (the TCP payload); tshark reads
/// SNI "xp.apple.com", legacy version 0x0303 and ALPN h2,h2-16,h2-15,h2-14,spdy/3.1,spdy/3,http/1.1.
const PPPOE_CH: &[&str] = &[
    "1603010200010001fc0303c9bcee53a4cea20ae58758dd9615653206b28923789d4cfb8b597d8c4605a9182011e6d913",
    "544a6e701512f9aeaec890f5cef7e38fb423e1852669d8f448e6fe3c0028c02cc02bc024c023c00ac009cca9c030c02f",
    "c028c027c014c013cca8009d009c003d003c0035002f0100018bff0100010000000011000f00000c78702e6170706c65",
    "2e636f6d00170000000d0014001204030804040105030805050108060601020100050005010000000033740000001200",
    "0000100030002e0268320568322d31360568322d31350568322d313408737064792f332e3106737064792f3308687474",
    "702f312e31000b00020100000a00080006001d00170018001500fa000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000",
];

fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 3, 1];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn ext(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// A ClientHello handshake message (header included) with SNI, ALPN, supported versions and
/// `padding` bytes of a padding extension (to make it as large as a post-quantum one).
pub(crate) fn build_client_hello(
    sni: &str,
    alpn: &[&str],
    versions: &[u16],
    padding: usize,
) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x11; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02]);
    body.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    ext(&mut exts, 0x2a2a, &[]); // a GREASE extension first, as browsers do
    let mut sn = Vec::new();
    sn.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
    sn.push(0);
    sn.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    sn.extend_from_slice(sni.as_bytes());
    ext(&mut exts, 0, &sn);
    let mut list = Vec::new();
    for p in alpn {
        list.push(p.len() as u8);
        list.extend_from_slice(p.as_bytes());
    }
    let mut al = (list.len() as u16).to_be_bytes().to_vec();
    al.extend_from_slice(&list);
    ext(&mut exts, 16, &al);
    let mut sv = vec![(versions.len() * 2) as u8];
    for v in versions {
        sv.extend_from_slice(&v.to_be_bytes());
    }
    ext(&mut exts, 43, &sv);
    ext(&mut exts, 21, &vec![0; padding]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut msg = vec![CLIENT_HELLO];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(&body);
    msg
}

fn expect_client_hello(m: Result<Message<'_>, Need>) -> ClientHello<'_> {
    match m {
        Ok(Message::ClientHello(ch)) => ch,
        other => panic!("not a ClientHello: {other:?}"),
    }
}

#[test]
fn rfc8448_client_hello() {
    let msg = unhex(RFC8448_CH);
    let rec = record(HANDSHAKE, &msg);
    let ch = expect_client_hello(parse(&rec));
    assert_eq!(ch.legacy_version, 0x0303);
    assert_eq!(ch.versions.as_slice(), &[0x0304]);
    assert_eq!(ch.max_version(), 0x0304);
    assert_eq!(version_name(ch.max_version()), "TLS 1.3");
    assert_eq!(ch.sni, Some("server"));
    assert!(ch.alpn.as_slice().is_empty());
    assert_eq!(ch.cipher_suites, &[0x13, 0x01, 0x13, 0x03, 0x13, 0x02]);
    // the body alone, as QUIC hands it over
    let body_ch = parse_client_hello_body(&msg[4..]).unwrap();
    assert_eq!(body_ch, ch);
    assert_eq!(record_len(&rec), Some(rec.len()));
}

#[test]
fn rfc8448_server_hello() {
    let rec = unhex(RFC8448_SH_RECORD);
    let Ok(Message::ServerHello(sh)) = parse(&rec) else {
        panic!("not a ServerHello")
    };
    assert_eq!(sh.legacy_version, 0x0303);
    assert_eq!(sh.selected_version, Some(0x0304));
    assert_eq!(sh.version(), 0x0304);
    assert_eq!(sh.cipher_suite, 0x1301);
    assert_eq!(sh.alpn, None);
    assert!(!sh.hello_retry_request);
}

#[test]
fn tls12_server_hello_with_alpn_and_hrr() {
    let mut body = vec![3, 3];
    body.extend_from_slice(&HRR_RANDOM);
    body.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    let mut exts = Vec::new();
    ext(&mut exts, 16, &[0, 3, 2, b'h', b'2']);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut msg = vec![SERVER_HELLO, 0, 0, body.len() as u8];
    msg.extend_from_slice(&body);
    let rec = record(HANDSHAKE, &msg);
    let Ok(Message::ServerHello(sh)) = parse(&rec) else {
        panic!()
    };
    assert_eq!(
        (sh.version(), sh.alpn, sh.hello_retry_request),
        (0x0303, Some("h2"), true)
    );
    // and without extensions at all (TLS 1.0 style)
    let mut short = vec![SERVER_HELLO, 0, 0, 38];
    short.extend_from_slice(&body[..38]);
    let rec = record(HANDSHAKE, &short);
    let Ok(Message::ServerHello(sh)) = parse(&rec) else {
        panic!()
    };
    assert_eq!((sh.selected_version, sh.alpn), (None, None));
}

#[test]
fn built_client_hello_with_alpn() {
    let msg = build_client_hello(
        "www.example.org",
        &["h2", "http/1.1"],
        &[0x3a3a, 0x0304, 0x0303],
        0,
    );
    let rec = record(HANDSHAKE, &msg);
    let ch = expect_client_hello(parse(&rec));
    assert_eq!(ch.sni, Some("www.example.org"));
    assert_eq!(ch.alpn.as_slice(), &["h2", "http/1.1"]);
    assert_eq!(ch.versions.as_slice(), &[0x0304, 0x0303], "GREASE dropped");
    assert_eq!(ch.max_version(), 0x0304);
}

#[test]
fn alpn_is_capped() {
    let names: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let msg = build_client_hello("a.b", &names, &[0x0304], 0);
    let ch = parse_client_hello_body(&msg[4..]).unwrap();
    assert_eq!(ch.alpn.as_slice().len(), MAX_ALPN);
    assert_eq!(ch.alpn.dropped, 12 - MAX_ALPN);
    assert_eq!(ch.alpn.as_slice()[0], "p0");
}

#[test]
fn client_hello_split_over_segments() {
    // a post-quantum-sized hello, about 1.7 KiB, in two TCP segments
    let msg = build_client_hello("pq.example", &["h2"], &[0x0304], 1600);
    let rec = record(HANDSHAKE, &msg);
    let cut = 1000;
    assert_eq!(parse(&rec[..cut]), Err(Need::Bytes(rec.len())));
    let ch = expect_client_hello(parse(&rec));
    assert_eq!(ch.sni, Some("pq.example"));
    // fewer than the record header's bytes: ask for the header
    assert_eq!(parse(&rec[..3]), Err(Need::Bytes(5)));
    assert_eq!(parse(&[]), Err(Need::Invalid));
    assert_eq!(parse(&rec[..5]), Err(Need::Bytes(6)));
    assert_eq!(parse(&rec[..7]), Err(Need::Bytes(rec.len())));
}

#[test]
fn client_hello_split_over_records() {
    let msg = build_client_hello("two.records.example", &["h2", "http/1.1"], &[0x0304], 300);
    // the first record carries 2 bytes of the handshake header only, then two more records
    let mut payload = record(HANDSHAKE, &msg[..2]);
    payload.extend(record(HANDSHAKE, &msg[2..200]));
    payload.extend(record(HANDSHAKE, &msg[200..]));
    payload.extend(record(APPLICATION_DATA, &[1, 2, 3]));
    assert_eq!(parse(&payload), Err(Need::Join));
    let mut out = Vec::new();
    join_handshake(&payload, &mut out).unwrap();
    assert_eq!(out, msg);
    let Some(Message::ClientHello(ch)) = parse_handshake(&out) else {
        panic!()
    };
    assert_eq!(ch.sni, Some("two.records.example"));
    // every shorter prefix asks for more, never for less than it has, and never succeeds
    for n in 0..payload.len() - 8 {
        match parse(&payload[..n]) {
            Err(Need::Bytes(k)) => assert!(k > n, "asked for {k} having {n}"),
            Err(Need::Invalid) => assert!(n == 0, "invalid at {n}"),
            other => panic!("at {n}: {other:?}"),
        }
    }
}

#[test]
fn tiny_records_are_refused() {
    // a hello announced at MAX_HELLO_LEN, sent one byte per record: too much to buffer
    let mut payload = record(HANDSHAKE, &[CLIENT_HELLO, 0, 0x80, 0]);
    for _ in 0..10 {
        payload.extend(record(HANDSHAKE, &[0]));
    }
    assert_eq!(
        parse(&payload),
        Err(Need::Bytes(payload.len() + 5)),
        "the next header"
    );
    let mut big = record(HANDSHAKE, &[CLIENT_HELLO, 0, 0x80, 0]);
    for _ in 0..MAX_BUFFER / 6 {
        big.extend(record(HANDSHAKE, &[0]));
    }
    assert_eq!(parse(&big), Err(Need::Invalid));
}

#[test]
fn alerts() {
    let rec = [ALERT, 3, 3, 0, 2, 2, 40];
    let Ok(Message::Alert(a)) = parse(&rec) else {
        panic!()
    };
    assert!(a.is_fatal());
    assert_eq!(a.name(), "handshake_failure");
    assert_eq!(alert_name(112), "unrecognized_name");
    assert_eq!(alert_name(0), "close_notify");
    assert_eq!(alert_name(255), "unknown");
    // an encrypted alert is not read
    assert_eq!(
        parse(&[ALERT, 3, 3, 0, 26, 9, 9]),
        Ok(Message::Other(ALERT))
    );
    assert_eq!(parse(&rec[..6]), Err(Need::Bytes(7)));
}

#[test]
fn other_records() {
    assert_eq!(
        parse(&[APPLICATION_DATA, 3, 3, 0, 1, 0]),
        Ok(Message::Other(APPLICATION_DATA))
    );
    assert_eq!(
        parse(&[HANDSHAKE, 3, 3, 0, 40, 11, 0]),
        Ok(Message::Handshake(11))
    );
    assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(Need::Invalid));
    assert_eq!(
        parse(&[HANDSHAKE, 3, 9, 0, 4]),
        Err(Need::Invalid),
        "version 0x0309"
    );
    assert_eq!(record_len(&[24, 3, 3, 0, 1]), None);
    assert_eq!(version_name(0x0300), "SSL 3.0");
    assert_eq!(version_name(0x0303), "TLS 1.2");
    assert_eq!(version_name(0x0a0a), "GREASE");
    assert!(is_grease(0xfafa) && !is_grease(0x0a1a));
}

#[test]
fn real_capture_client_hello() {
    let payload = unhex(&PPPOE_CH.concat());
    let ch = expect_client_hello(parse(&payload));
    assert_eq!(ch.sni, Some("xp.apple.com"));
    assert_eq!(ch.legacy_version, 0x0303);
    assert_eq!(
        ch.alpn.as_slice(),
        &["h2", "h2-16", "h2-15", "h2-14", "spdy/3.1", "spdy/3", "http/1.1"]
    );
}

#[test]
fn truncations_never_lie() {
    for payload in [
        unhex(&PPPOE_CH.concat()),
        record(HANDSHAKE, &unhex(RFC8448_CH)),
        unhex(RFC8448_SH_RECORD),
    ] {
        for n in 0..payload.len() {
            match parse(&payload[..n]) {
                Ok(m) => panic!("a message from {n} of {} bytes: {m:?}", payload.len()),
                Err(Need::Bytes(k)) => assert!(k > n && k <= payload.len()),
                Err(_) => {}
            }
        }
        // and the bodies, cut anywhere, give nothing or a hello whose fields lie inside
        let body = &payload[9..];
        for n in 0..body.len() {
            if let Some(ch) = parse_client_hello_body(&body[..n]) {
                assert!(ch.sni.is_none_or(|s| inside(body, s.as_bytes())));
            }
            let _ = parse_server_hello_body(&body[..n]);
        }
    }
}

fn check_message(input: &[u8], m: &Message<'_>) {
    match m {
        Message::ClientHello(ch) => {
            if let Some(s) = ch.sni {
                assert!(inside(input, s.as_bytes()));
            }
            for a in ch.alpn.as_slice() {
                assert!(inside(input, a.as_bytes()));
            }
            assert!(inside(input, ch.cipher_suites) && inside(input, ch.extensions));
            assert!(ch.versions.as_slice().iter().all(|v| !is_grease(*v)));
        }
        Message::ServerHello(sh) => {
            if let Some(a) = sh.alpn {
                assert!(inside(input, a.as_bytes()));
            }
        }
        _ => {}
    }
}

#[test]
fn random_and_mutated_bytes() {
    let seeds = [
        unhex(&PPPOE_CH.concat()),
        record(HANDSHAKE, &unhex(RFC8448_CH)),
        unhex(RFC8448_SH_RECORD),
        record(
            HANDSHAKE,
            &build_client_hello("x.example", &["h2", "http/1.1"], &[0x0304], 40),
        ),
        vec![ALERT, 3, 3, 0, 2, 2, 40],
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for i in 0..20_000 {
        let input = if i % 4 == 0 {
            (0..rng.below(300)).map(|_| rng.next() as u8).collect()
        } else {
            rng.mutate(&seeds[i % seeds.len()])
        };
        let _ = record_len(&input);
        match parse(&input) {
            Ok(m) => check_message(&input, &m),
            Err(Need::Bytes(k)) => assert!(k > input.len() && k <= MAX_BUFFER),
            Err(Need::Join) => {
                join_handshake(&input, &mut out).expect("Join promises a whole message");
                assert!(out.len() <= MAX_HELLO_LEN + 4);
                if let Some(m) = parse_handshake(&out) {
                    check_message(&out, &m);
                }
            }
            Err(Need::Invalid) => {}
        }
        let _ = join_handshake(&input, &mut out);
        for start in [0, 4, 5, 9] {
            if let Some(body) = input.get(start..) {
                if let Some(ch) = parse_client_hello_body(body) {
                    check_message(body, &Message::ClientHello(ch));
                }
                if let Some(sh) = parse_server_hello_body(body) {
                    check_message(body, &Message::ServerHello(sh));
                }
                if let Some(m) = parse_handshake(body) {
                    check_message(body, &m);
                }
            }
        }
    }
}
