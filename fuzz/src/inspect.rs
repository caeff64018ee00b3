//! Any bytes as a flow's payloads, through every payload parser and the inspector: the first
//! byte picks TCP or UDP (bit 0) and whether a side is DNS's port 53 (bit 1); the rest is
//! cut into segments at every `|` byte. Nothing panics; a server name, Host or SSH line read
//! is text that occurs in the input; a flow keeps at most `EXAMINED` events; and the segments
//! offered to two inspectors, split anywhere, merge into what one inspector made of them all
//! (unless the first ended while gathering, which the pass answers by reading in one pass).

use nwcap_analysis::decode::proto;
use nwcap_analysis::flow::PackedKey;
use nwcap_analysis::inspect::{dns, http, quic, rdp, read, ssh, tls, Inspector, EXAMINED};

fn within(input: &[u8], part: &[u8]) -> bool {
    part.is_empty() || input.windows(part.len()).any(|w| w == part)
}

pub fn run(data: &[u8]) {
    let Some((&how, payload)) = data.split_first() else {
        return;
    };
    let protocol = if how & 1 == 0 { proto::TCP } else { proto::UDP };
    let ports = if how & 2 != 0 {
        (40000, 53)
    } else {
        (40000, 443)
    };

    // Every parser on the whole payload.
    if let Ok(tls::Message::ClientHello(h)) = tls::parse(payload) {
        if let Some(sni) = h.sni {
            assert!(within(payload, sni.as_bytes()), "SNI not in the input");
        }
    }
    let _ = quic::client_initial_summary(payload);
    if let Some(h) = quic::parse_long_header(payload) {
        assert!(within(payload, h.dcid) && within(payload, h.scid));
    }
    if let Some(m) = dns::parse(payload) {
        let mut name = String::new();
        for q in m.questions() {
            name.clear();
            q.name.write_to(&mut name);
        }
        assert!(m.answers().count() <= usize::from(dns::MAX_RECORDS));
    }
    for m in dns::tcp_messages(payload) {
        assert!(within(payload, m));
        let _ = dns::parse(m);
    }
    if let Some(r) = http::parse_request(payload) {
        assert!(within(payload, r.path));
        if let Some(h) = r.host {
            assert!(within(payload, h.as_bytes()), "Host not in the input");
        }
    }
    let _ = http::parse_response(payload);
    if let Some(i) = ssh::parse_ident(payload) {
        assert!(within(payload, i.line.as_bytes()));
    }
    let _ = rdp::parse_connection_request(payload);
    for kind in [
        read::Kind::Tls,
        read::Kind::Quic,
        read::Kind::Http,
        read::Kind::Dns,
        read::Kind::Ssh,
        read::Kind::Rdp,
    ] {
        let _ = read::message(kind, protocol, payload);
    }

    // The inspector over the segments, whole and split.
    let key = PackedKey::default();
    let segments: Vec<&[u8]> = payload.split(|&b| b == b'|').collect();
    let offer = |ins: &mut Inspector, segs: &[&[u8]], first: usize| {
        for (i, s) in segs.iter().enumerate() {
            let dir = ((first + i) % 3 == 2) as u8;
            ins.offer(&key, dir, protocol, ports, s, false);
        }
    };
    let mut whole = Inspector::default();
    offer(&mut whole, &segments, 0);
    if let Some(f) = whole.get(&key) {
        assert!(f.events.len() <= EXAMINED);
    }
    let cut = segments.len() / 2;
    let mut a = Inspector::default();
    offer(&mut a, &segments[..cut], 0);
    if a.is_gathering() {
        return;
    }
    let mut b = Inspector::default();
    offer(&mut b, &segments[cut..], cut);
    a.merge(b);
    assert_eq!(
        a.get(&key),
        whole.get(&key),
        "merged inspectors differ from one pass"
    );
}
