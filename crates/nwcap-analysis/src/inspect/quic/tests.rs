//! Tests of the QUIC reader: RFC 9001 and RFC 9369 appendix A (keys and the client Initial),
//! a real Firefox Initial, Initials sealed here with CRYPTO frames out of order and over two
//! packets, and random and mutated bytes.

use super::*;
use crate::inspect::testing::{inside, unhex, XorShift};
use crate::inspect::tls::tests::build_client_hello;

const RFC_DCID: &str = "8394c8f03e515708";

/// RFC 9001 §A.2, the protected client Initial (1200 bytes).
const RFC9001_A2: &[&str] = &[
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11d242b123dc9bd8bab936b47d92ec356c",
    "0bab7df5976d27cd449f63300099f3991c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c",
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df621230c83711b39343fa028cea7f7fb5ff89",
    "eac2308249a02252155e2347b63d58c5457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208",
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec4e15daf8500a6ef69ec4e3feb6b1d98e",
    "610ac8b7ec3faf6ad760b7bad1db4ba3485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db",
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c7b4378e846d29f37ed7b4ea9ec5d82e7",
    "961b7f25a9323851f681d582363aa5f89937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556",
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c7468449a13d8e3b95811a198f3491de3e7",
    "fe942b330407abf82a4ed7c1b311663ac69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00",
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632291d6a418211cc2962e20fe47feb3edf",
    "330f2c603a9d48c0fcb5699dbfe5896425c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd",
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ffef132eef2fa09346aee33c28eb130ff2",
    "8f5b766953334113211996d20011a198e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd",
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73203a4a13e96f5432ec0fd4a1ee65accd",
    "d5e3904df54c1da510b0ff20dcc0c77fcb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e",
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03adea2e1fbc5aa463d08ca19896d2bf59a07",
    "1b851e6c239052172f296bfb5e72404790a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2",
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f440591f355e12d439ff150aab7613499d",
    "bd49adabc8676eef023b15b65bfc5ca06948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e",
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0be79e2fb8f5d5fbbe2e30ecadd220723",
    "c8c0aea8078cdfcb3868263ff8f0940054da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab",
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9f96f3ca9ec1dde434da7d2d392b905dd",
    "f3d1f9af93d1af5950bd493f5aa731b4056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064",
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241e221af44860018ab0856972e194cd934",];

/// RFC 9369 §A.2, the same client Initial under QUIC v2.
const RFC9369_A2: &[&str] = &[
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485dd04de806071bf03dceebfa162e75d6c",
    "96058bdbfb127cdfcbf903388e99ad049f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d",
    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a12834e3f249a78d395e0d18f4d766004",
    "f1a2674802a747eaa901c3f10cda5500cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68",
    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff3312ae50b187c1433c0f028edcc4c2838b",
    "6a9bfc226ca4b4530e7a4ccee1bfa2a3d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd",
    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520bcfb7966fc49b393f0061d974a2706df",
    "8c4a9449f11d7f3d2dcbb90c6b877045636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f",
    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c1216ccce2d0193f958bb3850a833f7ae43",
    "2b65bc5a53975c155aa4bcb4f7b2c4e54df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4",
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b8017c25ca9052ca1079d8b78aebd4787",
    "6d330a30f6a8c6d61dd1ab5589329de714d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9",
    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91abfe43960977c87471cf9ad4074d30e1",
    "0d6a7f03c63bd5d4317f68ff325ba3bd80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db",
    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18d703dd84045a274ae8bfa73379661388",
    "d6991fe39b0d93debb41700b41f90a15c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc",
    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61f6b5b984d4d3dfa033c1bb7e4f0037fe",
    "bf406d91c0dccf32acf423cfa1e7071010d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b",
    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e06ebfde206bfb0fcbc0edc4ebec30966",
    "1bdd908d532eb0c6adc38b7ca7331dce8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1",
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1e86215c2d54e6670e07383a27bbffb5a",
    "ddf47d66aa85a0c6f9f32e59d85a44dd5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3",
    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89d5974ee12e5cf7d5da4d6a31123041f3",
    "3e61407e76cffcdcfd7e19ba58cf4b536f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19",
    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96ba18b2faa745b6fe189cf772a9f84cbfc",];

/// The start of both appendices' plaintext: one CRYPTO frame (offset 0, 241 bytes).
const A2_PLAINTEXT_PREFIX: &str =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868";

/// zeek__quic_win11_firefox_google.pcap frame 1, the UDP payload: tshark reads QUIC v1,
/// an Initial of 555 bytes (then others coalesced), SNI "www.google.com", ALPN "h3".
const FIREFOX_INITIAL: &[&str] = &[
    "c60000000109b409bae10c6b44e5cd032133c400421574571eb27696554cafe00800a917b9e7092930a333eb8fd2e13a",
    "b894d25e92def84d466c41d555c86cec3fe55c402bfd8a7c033a6e3ad67e47d3204010cba7387494dc89d10a42ef793a",
    "db746e3da466cfa634010dcd6112c06f4844402288b57caaacf0a19fafc09a46bbbf2ba6eba900e8697b7c6c59cdf1c8",
    "d3dc4e8c06ba962d0fcce0e701ab0216b8b05b3a3e1a91fc30496bd53f95f8527f7914d5a767051a9256441925901e54",
    "b7a8282c431fb95b61f236fb9708c6a11743ff866e96e552906a13d17eb218486d2c6cc784edc373b58274aa8b55a6a6",
    "d8c8597321becff09552a29c3781ade11f91e359a33261270c3f7561fa9879f1e442b7746d8cbda0b7666eebaae0bba8",
    "bc1096dcda65a44d9e467d431bfc3418e519395af37844cce365d96dc4643734cf3827a47654e7beb21e5bb219a0f360",
    "dc0ccec33ba23638cfec6fcecb3c8050314c5bac854584f647cc658851d782a5460aea180f82a575738880c7c10a98ca",
    "5cbbde7d60fe4bc50c9a137dabd61b5163a3712936e9cc0c8b52fbc7424eef4e8c88085c00f8bb8b014b53216223211a",
    "09b7f4cb71bc073aec068df9e77ff1e8f9d13403c1484244ca6abcb9df79c529ae650ea074443909bb9b7d25dd08f8fe",
    "6ffb3f0ef18799a8e3257640d9a26c0d8a9e78249e5ae1a72fc3193af05ed4f05ac5cfb6dc4f8fb665d8329db0115f8a",
    "3bf1dcf1e29e5863e1acafdbbc02c0b57f88ce698030260957b380000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000",];

fn hex16(s: &str) -> [u8; 16] {
    unhex(s).try_into().unwrap()
}

#[test]
fn initial_keys_match_the_rfcs() {
    let dcid = unhex(RFC_DCID);
    let v1 = client_initial_keys(VERSION_1, &dcid).unwrap();
    assert_eq!(v1.key, hex16("1f369613dd76d5467730efcbe3b1a22d"));
    assert_eq!(v1.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
    assert_eq!(v1.hp, hex16("9f50449e04a0e810283a1e9933adedd2"));
    let v2 = client_initial_keys(VERSION_2, &dcid).unwrap();
    assert_eq!(v2.key, hex16("8b1a0bc121284290a29e0971b5cd045d"));
    assert_eq!(v2.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
    assert_eq!(v2.hp, hex16("45b95e15235d6f45a6b19cbcb0294ba9"));
    assert_eq!(client_initial_keys(0xff00_001d, &dcid), None);
}

fn check_rfc_initial(datagram: &[u8], version: u32) {
    let h = parse_long_header(datagram).unwrap();
    assert_eq!((h.version, h.packet_type), (version, PacketType::Initial));
    assert_eq!(h.dcid, unhex(RFC_DCID));
    assert!(h.scid.is_empty() && h.token.is_empty());
    assert_eq!(
        (h.length, h.pn_offset, h.packet_len),
        (Some(1182), 18, 1200)
    );
    let opened = open_client_initial(datagram).unwrap();
    assert_eq!(opened.packet_number, 2);
    assert_eq!(opened.plaintext.len(), 1162);
    assert!(opened.plaintext.starts_with(&unhex(A2_PLAINTEXT_PREFIX)));
    assert!(
        opened.plaintext[245..].iter().all(|&b| b == 0),
        "PADDING after the frame"
    );
    let frames = opened.crypto_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!((frames[0].offset, frames[0].data.len()), (0, 241));
    let summary = client_initial_summary(datagram).unwrap();
    assert_eq!(summary.quic_version, version);
    assert_eq!(summary.sni.as_deref(), Some("example.com"));
    assert_eq!(summary.alpn, vec!["alpn".to_string()]);
    assert_eq!(summary.tls_versions, vec![0x0304]);
}

#[test]
fn rfc9001_client_initial() {
    check_rfc_initial(&unhex(&RFC9001_A2.concat()), VERSION_1);
}

#[test]
fn rfc9369_client_initial() {
    check_rfc_initial(&unhex(&RFC9369_A2.concat()), VERSION_2);
}

#[test]
fn real_firefox_initial() {
    let datagram = unhex(&FIREFOX_INITIAL.concat());
    let opened = open_client_initial(&datagram).unwrap();
    assert_eq!(opened.header.packet_len, 555);
    assert!(datagram.len() > 555, "other packets are coalesced after it");
    assert_eq!(opened.packet_number, 0);
    let summary = client_initial_summary(&datagram).unwrap();
    assert_eq!(summary.sni.as_deref(), Some("www.google.com"));
    assert_eq!(summary.alpn, vec!["h3".to_string()]);
    assert_eq!(summary.tls_versions, vec![0x0304]);
}

fn varint_bytes(v: u64) -> Vec<u8> {
    match v {
        0..=63 => vec![v as u8],
        64..=16383 => (0x4000 | v as u16).to_be_bytes().to_vec(),
        _ => (0x8000_0000 | v as u32).to_be_bytes().to_vec(),
    }
}

fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend(varint_bytes(offset));
    f.extend(varint_bytes(data.len() as u64));
    f.extend_from_slice(data);
    f
}

/// Seals a client Initial with the keys of `version` for `dcid` (a 2-byte packet number),
/// the way a client would, so the opener is checked against ring's sealing.
fn seal_initial(version: u32, dcid: &[u8], pn: u16, payload: &[u8]) -> Vec<u8> {
    let keys = client_initial_keys(version, dcid).unwrap();
    let type_bits = if version == VERSION_2 { 1 } else { 0 };
    let mut packet = vec![0xc0 | type_bits << 4 | 0x01];
    packet.extend_from_slice(&version.to_be_bytes());
    packet.push(dcid.len() as u8);
    packet.extend_from_slice(dcid);
    packet.extend_from_slice(&[3, 0xaa, 0xbb, 0xcc]); // scid
    packet.push(0); // no token
    let length = 2 + payload.len() + TAG_LEN;
    packet.extend((0x4000 | length as u16).to_be_bytes());
    let pn_offset = packet.len();
    packet.extend(pn.to_be_bytes());
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(u64::from(pn).to_be_bytes()) {
        *n ^= p;
    }
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &keys.key).unwrap());
    let mut body = payload.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&packet[..]),
            &mut body,
        )
        .unwrap();
    packet.extend(body);
    packet.extend_from_slice(tag.as_ref());
    let sample = &packet[pn_offset + 4..pn_offset + 20];
    let mask = hp::HeaderProtectionKey::new(&hp::AES_128, &keys.hp)
        .unwrap()
        .new_mask(sample)
        .unwrap();
    packet[0] ^= mask[0] & 0x0f;
    packet[pn_offset] ^= mask[1];
    packet[pn_offset + 1] ^= mask[2];
    packet
}

#[test]
fn crypto_frames_out_of_order_in_one_packet() {
    // as Chrome does: the hello cut in three, sent in the wrong order among PING, ACK, PADDING
    let hello = build_client_hello("chrome.example", &["h3"], &[0x0304], 300);
    let (a, rest) = hello.split_at(100);
    let (b, c) = rest.split_at(150);
    let mut payload = vec![0x01];
    payload.extend(crypto_frame(250, c));
    payload.extend([0x00, 0x00]);
    payload.extend([0x02, 0x05, 0x00, 0x01, 0x01, 0x02, 0x00]); // ACK with one more range
    payload.extend(crypto_frame(0, a));
    payload.extend([0x03, 0x05, 0x00, 0x00, 0x01, 0x07, 0x08, 0x09]); // ACK_ECN
    payload.extend(crypto_frame(100, b));
    payload.resize(1100, 0);
    for version in [VERSION_1, VERSION_2] {
        let mut datagram = seal_initial(version, &[7; 8], 0, &payload);
        datagram.extend([0x40, 1, 2, 3]); // a coalesced short-header packet after it
        let opened = open_client_initial(&datagram).unwrap();
        assert_eq!(opened.plaintext, payload);
        let offsets: Vec<u64> = opened.crypto_frames().iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [250, 0, 100]);
        let summary = client_initial_summary(&datagram).unwrap();
        assert_eq!(summary.sni.as_deref(), Some("chrome.example"));
        assert_eq!(summary.alpn, ["h3"]);
    }
}

#[test]
fn client_hello_over_two_packets() {
    // a post-quantum-sized hello: 1.7 KiB cannot fit one 1200-byte Initial
    let hello = build_client_hello("pq.example", &["h3"], &[0x0304], 1600);
    let dcid = [9u8; 8];
    let mut first = crypto_frame(0, &hello[..1000]);
    first.resize(1100, 0);
    let mut second = crypto_frame(1000, &hello[1000..]);
    second.resize(1100, 0);
    let p1 = seal_initial(VERSION_1, &dcid, 0, &first);
    let p2 = seal_initial(VERSION_1, &dcid, 1, &second);
    assert_eq!(client_initial_summary(&p1), None, "not whole in one packet");
    let mut stream = CryptoStream::new();
    let o2 = open_client_initial(&p2).unwrap();
    assert_eq!(o2.packet_number, 1);
    stream.add_frames(&o2.crypto_frames());
    assert_eq!(
        stream.client_hello().unwrap_err(),
        tls::Need::Bytes(4),
        "a hole at 0"
    );
    stream.add_frames(&open_client_initial(&p1).unwrap().crypto_frames());
    assert_eq!(stream.contiguous(), &hello[..]);
    assert_eq!(stream.client_hello().unwrap().sni, Some("pq.example"));
    // one packet only: how much is needed
    let mut partial = CryptoStream::new();
    partial.add_frames(&open_client_initial(&p1).unwrap().crypto_frames());
    assert_eq!(
        partial.client_hello().unwrap_err(),
        tls::Need::Bytes(hello.len())
    );
}

#[test]
fn crypto_stream_bounds() {
    let mut s = CryptoStream::new();
    s.add(u64::MAX, b"x");
    s.add(MAX_CRYPTO as u64 - 1, b"abc");
    assert_eq!(s.buf.len(), MAX_CRYPTO);
    assert!(s.contiguous().is_empty());
    for i in 0..100u64 {
        s.add(i * 10, b"z"); // many holes: the extra ones are dropped
    }
    assert!(s.filled.len() <= MAX_RANGES);
    s.add(0, &[1; 5000]);
    assert_eq!(s.contiguous().len(), MAX_CRYPTO);
    assert_eq!(s.client_hello(), Err(tls::Need::Invalid));
}

#[test]
fn damaged_or_foreign_packets_do_not_open() {
    let datagram = unhex(&RFC9001_A2.concat());
    for i in [0, 5, 17, 18, 30, 600, 1199] {
        let mut bad = datagram.clone();
        bad[i] ^= 0x10;
        assert_eq!(
            open_client_initial(&bad).map(|o| o.plaintext.len()),
            None,
            "byte {i} changed"
        );
    }
    // the same bytes read as v2 fail the tag
    let mut v2 = datagram.clone();
    v2[1..5].copy_from_slice(&VERSION_2.to_be_bytes());
    v2[0] = 0xd0 | (v2[0] & 0x0f);
    assert!(open_client_initial(&v2).is_none());
    // cut anywhere: nothing, never a wrong answer
    for n in 0..datagram.len() {
        assert!(open_client_initial(&datagram[..n]).is_none());
        assert!(parse_long_header(&datagram[..n]).is_none());
        assert!(client_initial_summary(&datagram[..n]).is_none());
    }
}

#[test]
fn other_headers() {
    // Version Negotiation: version 0, then the versions
    let vn = unhex("ea00000000089aac5a49ba87a84908f92f4336fa951ba14547471600000001");
    let h = parse_long_header(&vn).unwrap();
    assert_eq!(
        (h.packet_type, h.dcid.len(), h.scid.len()),
        (PacketType::VersionNegotiation, 8, 8)
    );
    // Retry
    let retry = unhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba");
    assert_eq!(
        parse_long_header(&retry).unwrap().packet_type,
        PacketType::Retry
    );
    // a short header, a DNS query, and an Initial whose Length overruns the datagram
    assert_eq!(parse_long_header(&[0x40, 1, 2, 3]), None);
    assert_eq!(parse_long_header(&unhex("123401000001000000000000")), None);
    let initial = unhex(&RFC9001_A2.concat());
    assert_eq!(parse_long_header(&initial[..1199]), None);
    assert_eq!(version_name(VERSION_1), "QUIC v1");
    assert_eq!(version_name(VERSION_2), "QUIC v2");
    assert_eq!(version_name(0xff00_001d), "draft-29");
    assert_eq!(version_name(0x1a2a_3a4a), "reserved (greasing)");
    assert_eq!(version_name(0x5130_3530), "Google QUIC");
}

#[test]
fn random_and_mutated_bytes() {
    let seeds = [
        unhex(&RFC9001_A2.concat()),
        unhex(&RFC9369_A2.concat()),
        unhex(&FIREFOX_INITIAL.concat()),
        unhex("ea00000000089aac5a49ba87a84908f92f4336fa951ba14547471600000001"),
    ];
    let hello = build_client_hello("fuzz.example", &["h3"], &[0x0304], 20);
    let mut plain = crypto_frame(40, &hello[40..]);
    plain.extend([0x01, 0x02, 0x05, 0x00, 0x01, 0x01, 0x02, 0x00]);
    plain.extend(crypto_frame(0, &hello[..40]));
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for i in 0..6_000 {
        let datagram = match i % 3 {
            0 => (0..rng.below(1300)).map(|_| rng.next() as u8).collect(),
            _ => rng.mutate(&seeds[i % seeds.len()]),
        };
        if let Some(h) = parse_long_header(&datagram) {
            for part in [h.dcid, h.scid, h.token] {
                assert!(inside(&datagram, part));
            }
            assert!(h.packet_len <= datagram.len() && h.pn_offset <= h.packet_len);
        }
        if let Some(o) = open_client_initial(&datagram) {
            assert!(o.plaintext.len() + TAG_LEN < datagram.len());
        }
        let _ = client_initial_summary(&datagram);
        let _ = version_name(rng.next() as u32);
        // frames of random and mutated plaintexts, gathered into a stream
        let p = if i % 2 == 0 {
            rng.mutate(&plain)
        } else {
            datagram
        };
        let frames = crypto_frames(&p);
        assert!(frames.len() <= MAX_CRYPTO_FRAMES);
        let mut s = CryptoStream::new();
        for f in &frames {
            assert!(inside(&p, f.data));
            s.add(f.offset, f.data);
        }
        assert!(s.contiguous().len() <= MAX_CRYPTO && s.filled.len() <= MAX_RANGES);
        if let Ok(ch) = s.client_hello() {
            if let Some(sni) = ch.sni {
                assert!(inside(s.contiguous(), sni.as_bytes()));
            }
        }
    }
}

/// The inspector joins a ClientHello over two client Initials of one flow (the second
/// Initial's event carries the name), and a flow that ends before the second says so
/// (`is_gathering`, which makes a split file be read in one pass).
#[test]
fn the_inspector_joins_a_hello_over_two_initials() {
    use crate::inspect::event::Event;
    use crate::inspect::Inspector;
    let hello = build_client_hello("pq.example", &["h3"], &[0x0304], 1600);
    let dcid = [9u8; 8];
    let mut first = crypto_frame(0, &hello[..1000]);
    first.resize(1100, 0);
    let mut second = crypto_frame(1000, &hello[1000..]);
    second.resize(1100, 0);
    let p1 = seal_initial(VERSION_1, &dcid, 0, &first);
    let p2 = seal_initial(VERSION_1, &dcid, 1, &second);
    let key = crate::flow::PackedKey::default();
    let mut ins = Inspector::default();
    ins.offer(&key, 0, crate::decode::proto::UDP, (50000, 443), &p1, false);
    assert!(ins.is_gathering());
    ins.offer(&key, 0, crate::decode::proto::UDP, (50000, 443), &p2, false);
    assert!(!ins.is_gathering());
    let events = &ins.get(&key).unwrap().events;
    assert_eq!(events[0], (0, Event::Quic { version: VERSION_1 }));
    let Event::ClientHello(h) = &events[1].1 else {
        panic!("{events:?}");
    };
    assert_eq!(
        (h.quic, h.sni.as_deref()),
        (Some(VERSION_1), Some("pq.example"))
    );
}
