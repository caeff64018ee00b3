//! QUIC as seen in a UDP payload: the long header (RFC 9000 §17.2, RFC 9369 for v2), the
//! removal of the client Initial's protection (RFC 9001 §5, keys anyone can derive from the
//! destination connection id) and the CRYPTO frames that carry the TLS ClientHello, which
//! [`tls::parse_client_hello_body`] then reads.
//!
//! It owns the header layout, the Initial key schedule (through `ring`: no crypto of its own),
//! the frame walk of an Initial and a bounded reassembly of the CRYPTO stream. It never
//! decrypts anything but client Initials, never keeps state between datagrams (the caller
//! holds a [`CryptoStream`] when a ClientHello spans packets), never copies packet bytes
//! other than into the owned plaintext decryption has to produce, and never panics or
//! loops beyond its input's length, whatever the bytes.

use ring::aead::{self, quic as hp};
use ring::hkdf;

use super::tls;

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

/// Connection ids of versions 1 and 2 are at most 20 bytes (RFC 9000 §17.2).
pub const MAX_CID_LEN: usize = 20;

/// The CRYPTO stream is kept up to this offset: a ClientHello, post-quantum key shares
/// included, is under 2 KiB, and a flow table cannot hold more per flow.
pub const MAX_CRYPTO: usize = 4096;

/// At most this many CRYPTO frames are read from one packet (Chrome sends a handful).
pub const MAX_CRYPTO_FRAMES: usize = 32;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// AEAD_AES_128_GCM's tag, and the header protection sample's length (RFC 9001 §5.4.2).
const TAG_LEN: usize = 16;
const SAMPLE_LEN: usize = 16;

/// The kind of a long-header packet; the type bits mean different kinds in v1 and v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
    VersionNegotiation,
    /// A version this module does not know: only the invariant fields are read.
    Unknown,
}

/// A long-header packet's header, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongHeader<'a> {
    /// The first byte as sent (its low bits are still header-protected).
    pub first: u8,
    pub version: u32,
    pub packet_type: PacketType,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// The token of an Initial; empty otherwise.
    pub token: &'a [u8],
    /// The Length field (packet number and payload) of Initial, 0-RTT and Handshake packets.
    pub length: Option<u64>,
    /// Where the (protected) packet number starts; 0 when the packet has none.
    pub pn_offset: usize,
    /// The bytes of the datagram this packet takes; the next coalesced packet starts there.
    pub packet_len: usize,
}

/// The long header at the start of `datagram`, when it is one: the top bit set, and for a
/// known version connection ids of at most 20 bytes and a Length that fits the datagram.
pub fn parse_long_header(datagram: &[u8]) -> Option<LongHeader<'_>> {
    let mut r = datagram;
    let first = take_u8(&mut r)?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(take(&mut r, 4)?.try_into().ok()?);
    let dcid_len = usize::from(take_u8(&mut r)?);
    let dcid = take(&mut r, dcid_len)?;
    let scid_len = usize::from(take_u8(&mut r)?);
    let scid = take(&mut r, scid_len)?;
    let type_bits = (first >> 4) & 3;
    let v1_layout = version == VERSION_1 || is_draft(version);
    let packet_type = match (version, type_bits) {
        (0, _) => PacketType::VersionNegotiation,
        // RFC 9369 §3.2 rotates the type bits of v2.
        (VERSION_2, 0) => PacketType::Retry,
        (VERSION_2, 1) => PacketType::Initial,
        (VERSION_2, 2) => PacketType::ZeroRtt,
        (VERSION_2, _) => PacketType::Handshake,
        (_, 0) if v1_layout => PacketType::Initial,
        (_, 1) if v1_layout => PacketType::ZeroRtt,
        (_, 2) if v1_layout => PacketType::Handshake,
        (_, _) if v1_layout => PacketType::Retry,
        _ => PacketType::Unknown,
    };
    let known = !matches!(
        packet_type,
        PacketType::VersionNegotiation | PacketType::Unknown
    );
    if known && (dcid.len() > MAX_CID_LEN || scid.len() > MAX_CID_LEN) {
        return None;
    }
    let mut header = LongHeader {
        first,
        version,
        packet_type,
        dcid,
        scid,
        token: &[],
        length: None,
        pn_offset: 0,
        packet_len: datagram.len(),
    };
    if !matches!(
        packet_type,
        PacketType::Initial | PacketType::ZeroRtt | PacketType::Handshake
    ) {
        // Retry, Version Negotiation and unknown versions take the rest of the datagram.
        return Some(header);
    }
    if packet_type == PacketType::Initial {
        let token_len = usize::try_from(varint(&mut r)?).ok()?;
        header.token = take(&mut r, token_len)?;
    }
    let length = varint(&mut r)?;
    header.pn_offset = datagram.len() - r.len();
    header.length = Some(length);
    header.packet_len = header
        .pn_offset
        .checked_add(usize::try_from(length).ok()?)?;
    (header.packet_len <= datagram.len()).then_some(header)
}

/// IETF drafts, 0xff0000xx: the v1 layout.
fn is_draft(v: u32) -> bool {
    v >> 8 == 0x00ff_0000
}

/// A name for a version: "QUIC v1", "QUIC v2", "draft-29", …
pub fn version_name(v: u32) -> &'static str {
    match v {
        0 => "version negotiation",
        VERSION_1 => "QUIC v1",
        VERSION_2 => "QUIC v2",
        0xff00_001d => "draft-29",
        0xff00_001b => "draft-27",
        0xff00_001c => "draft-28",
        0xff00_0020 => "draft-32",
        0xff00_0022 => "draft-34",
        v if is_draft(v) => "draft",
        // RFC 9000 §15: versions 0x?a?a?a?a are reserved to exercise negotiation.
        v if v & 0x0f0f_0f0f == 0x0a0a_0a0a => "reserved (greasing)",
        // Google QUIC: "Q0xx" in ASCII.
        v if v >> 16 == 0x5130 => "Google QUIC",
        0xfaceb001..=0xfaceb00f => "mvfst",
        _ => "unknown",
    }
}

/// The client's Initial packet protection keys (RFC 9001 §5.2, RFC 9369 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialKeys {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

/// Derives the client Initial keys of `version` (1 or 2) for the client's first destination
/// connection id.
pub fn client_initial_keys(version: u32, dcid: &[u8]) -> Option<InitialKeys> {
    let (salt, key_label, iv_label, hp_label): (&[u8], &[u8], &[u8], &[u8]) = match version {
        VERSION_1 => (&SALT_V1, b"quic key", b"quic iv", b"quic hp"),
        VERSION_2 => (&SALT_V2, b"quicv2 key", b"quicv2 iv", b"quicv2 hp"),
        _ => return None,
    };
    let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(dcid);
    let mut client_secret = [0u8; 32];
    expand_label(&initial, b"client in", &mut client_secret)?;
    let client = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &client_secret);
    let mut keys = InitialKeys {
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    expand_label(&client, key_label, &mut keys.key)?;
    expand_label(&client, iv_label, &mut keys.iv)?;
    expand_label(&client, hp_label, &mut keys.hp)?;
    Some(keys)
}

/// HKDF-Expand-Label of TLS 1.3 (RFC 8446 §7.1) with an empty context: the HkdfLabel is
/// length (2 bytes), "tls13 " + label (1-byte length prefix), context (1-byte length, 0).
fn expand_label(prk: &hkdf::Prk, label: &[u8], out: &mut [u8]) -> Option<()> {
    let len = u16::try_from(out.len()).ok()?.to_be_bytes();
    let label_len = [u8::try_from(label.len().checked_add(6)?).ok()?];
    let info: [&[u8]; 5] = [&len, &label_len, b"tls13 ", label, &[0]];
    prk.expand(&info, OutLen(out.len())).ok()?.fill(out).ok()
}

/// ring wants the output length as a type.
struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// A client Initial with its protection removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedInitial<'a> {
    pub header: LongHeader<'a>,
    pub packet_number: u64,
    /// The frames, decrypted: the one owned copy of packet bytes this module makes.
    pub plaintext: Vec<u8>,
}

impl OpenedInitial<'_> {
    /// The CRYPTO frames of the plaintext.
    pub fn crypto_frames(&self) -> Vec<CryptoFrame<'_>> {
        crypto_frames(&self.plaintext)
    }
}

/// Removes header and packet protection from the first packet of `datagram` when it is a
/// client Initial of v1 or v2. A server Initial, a damaged packet or another kind gives
/// None (the AEAD tag decides: the server's keys differ).
pub fn open_client_initial(datagram: &[u8]) -> Option<OpenedInitial<'_>> {
    let header = parse_long_header(datagram)?;
    if header.packet_type != PacketType::Initial {
        return None;
    }
    let keys = client_initial_keys(header.version, header.dcid)?;
    let packet = datagram.get(..header.packet_len)?;
    let pn_offset = header.pn_offset;
    // The sample is taken as if the packet number were 4 bytes long (RFC 9001 §5.4.2).
    let sample_start = pn_offset.checked_add(4)?;
    let sample = packet.get(sample_start..sample_start.checked_add(SAMPLE_LEN)?)?;
    let mask = hp::HeaderProtectionKey::new(&hp::AES_128, &keys.hp)
        .ok()?
        .new_mask(sample)
        .ok()?;
    let mut buf = packet.to_vec();
    let first = buf.first_mut()?;
    // Long headers protect the low 4 bits of the first byte.
    *first ^= mask[0] & 0x0f;
    let pn_len = usize::from(*first & 0x03) + 1;
    let mut packet_number = 0u64;
    for (i, m) in mask.iter().skip(1).take(pn_len).enumerate() {
        let b = buf.get_mut(pn_offset.checked_add(i)?)?;
        *b ^= m;
        packet_number = packet_number << 8 | u64::from(*b);
    }
    // An Initial's packet number is small and never needs the expected-number decoding of
    // RFC 9000 §A.3 to be right for the nonce: the truncated value is the full one here.
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(packet_number.to_be_bytes()) {
        *n ^= p;
    }
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &keys.key).ok()?);
    let header_len = pn_offset.checked_add(pn_len)?;
    let (aad, sealed) = buf.split_at_mut_checked(header_len)?;
    if sealed.len() < TAG_LEN {
        return None;
    }
    let plain_len = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&*aad),
            sealed,
        )
        .ok()?
        .len();
    buf.drain(..header_len);
    buf.truncate(plain_len);
    Some(OpenedInitial {
        header,
        packet_number,
        plaintext: buf,
    })
}

/// A CRYPTO frame: `data` belongs at `offset` of the handshake stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoFrame<'a> {
    pub offset: u64,
    pub data: &'a [u8],
}

/// The CRYPTO frames of an Initial's plaintext, in packet order (at most
/// [`MAX_CRYPTO_FRAMES`]). PADDING, PING and ACK are skipped; the walk stops at the first
/// other frame (only CONNECTION_CLOSE is allowed there) or malformed one, keeping what came
/// before.
pub fn crypto_frames(plaintext: &[u8]) -> Vec<CryptoFrame<'_>> {
    let mut frames = Vec::new();
    let mut r = plaintext;
    // Each turn consumes at least one byte, so the walk is bounded by the plaintext.
    while !r.is_empty() && frames.len() < MAX_CRYPTO_FRAMES {
        let Some(ty) = varint(&mut r) else { break };
        let ok = match ty {
            0x00 | 0x01 => Some(()),
            0x02 | 0x03 => skip_ack(&mut r, ty == 0x03),
            0x06 => (|| {
                let offset = varint(&mut r)?;
                let len = usize::try_from(varint(&mut r)?).ok()?;
                let data = take(&mut r, len)?;
                frames.push(CryptoFrame { offset, data });
                Some(())
            })(),
            _ => None,
        };
        if ok.is_none() {
            break;
        }
    }
    frames
}

/// Skips an ACK frame's fields (RFC 9000 §19.3).
fn skip_ack(r: &mut &[u8], ecn: bool) -> Option<()> {
    varint(r)?; // largest acknowledged
    varint(r)?; // ack delay
    let ranges = varint(r)?;
    varint(r)?; // first range
                // Each range is at least 2 bytes, so a count beyond that is malformed (and bounds the loop).
    if ranges > (r.len() / 2) as u64 {
        return None;
    }
    for _ in 0..ranges {
        varint(r)?; // gap
        varint(r)?; // range length
    }
    if ecn {
        for _ in 0..3 {
            varint(r)?;
        }
    }
    Some(())
}

/// The start of a CRYPTO stream gathered from frames in any order and from several packets,
/// up to [`MAX_CRYPTO`] bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CryptoStream {
    buf: Vec<u8>,
    /// Filled byte ranges of `buf`, sorted and disjoint.
    filled: Vec<(usize, usize)>,
}

/// Holes allowed in the stream; more means frames far out of order, not a ClientHello.
const MAX_RANGES: usize = 16;

impl CryptoStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `data` found at `offset`; what lies beyond [`MAX_CRYPTO`] is dropped. Overlaps
    /// keep the later bytes.
    pub fn add(&mut self, offset: u64, data: &[u8]) {
        let Ok(start) = usize::try_from(offset) else {
            return;
        };
        if start >= MAX_CRYPTO {
            return;
        }
        let end = start.saturating_add(data.len()).min(MAX_CRYPTO);
        let Some(data) = data.get(..end - start) else {
            return;
        };
        if data.is_empty() {
            return;
        }
        // Merge the new range with those it touches.
        let (mut lo, mut hi) = (start, end);
        let mut kept = Vec::with_capacity(self.filled.len() + 1);
        for &(s, e) in &self.filled {
            if e < lo || s > hi {
                kept.push((s, e));
            } else {
                lo = lo.min(s);
                hi = hi.max(e);
            }
        }
        if kept.len() >= MAX_RANGES {
            return;
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        if let Some(dst) = self.buf.get_mut(start..end) {
            dst.copy_from_slice(data);
        }
        kept.push((lo, hi));
        kept.sort_unstable();
        self.filled = kept;
    }

    /// Adds every CRYPTO frame of an opened Initial.
    pub fn add_frames(&mut self, frames: &[CryptoFrame<'_>]) {
        for f in frames {
            self.add(f.offset, f.data);
        }
    }

    /// The bytes from offset 0 up to the first hole.
    pub fn contiguous(&self) -> &[u8] {
        match self.filled.first() {
            Some(&(0, end)) => self.buf.get(..end).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The ClientHello at the start of the stream, or how many stream bytes from offset 0 it
    /// needs (`Need::Bytes`), or `Need::Invalid` when the stream does not start with one
    /// that fits [`MAX_CRYPTO`].
    pub fn client_hello(&self) -> Result<tls::ClientHello<'_>, tls::Need> {
        let data = self.contiguous();
        let (Some(&ty), Some(&a), Some(&b), Some(&c)) =
            (data.first(), data.get(1), data.get(2), data.get(3))
        else {
            return Err(tls::Need::Bytes(4));
        };
        if ty != tls::CLIENT_HELLO {
            return Err(tls::Need::Invalid);
        }
        let total = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
        if total > MAX_CRYPTO {
            return Err(tls::Need::Invalid);
        }
        let body = data.get(4..total).ok_or(tls::Need::Bytes(total))?;
        tls::parse_client_hello_body(body).ok_or(tls::Need::Invalid)
    }
}

/// What a client Initial says, owned, for a caller that keeps no buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInitialSummary {
    pub quic_version: u32,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// TLS versions offered (supported_versions, GREASE dropped).
    pub tls_versions: Vec<u16>,
}

impl ClientInitialSummary {
    pub fn new(quic_version: u32, hello: &tls::ClientHello<'_>) -> Self {
        ClientInitialSummary {
            quic_version,
            sni: hello.sni.map(str::to_owned),
            alpn: hello
                .alpn
                .as_slice()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            tls_versions: hello.versions.as_slice().to_vec(),
        }
    }
}

/// The ClientHello of a datagram whose first packet is a client Initial carrying the whole
/// hello. When it needs more packets, use [`open_client_initial`] and a [`CryptoStream`].
pub fn client_initial_summary(datagram: &[u8]) -> Option<ClientInitialSummary> {
    let opened = open_client_initial(datagram)?;
    let mut stream = CryptoStream::new();
    stream.add_frames(&opened.crypto_frames());
    let hello = stream.client_hello().ok()?;
    Some(ClientInitialSummary::new(opened.header.version, &hello))
}

/// A variable-length integer (RFC 9000 §16): the top 2 bits of the first byte give its length.
fn varint(r: &mut &[u8]) -> Option<u64> {
    let &first = r.first()?;
    let bytes = take(r, 1usize << (first >> 6))?;
    let mut v = u64::from(first & 0x3f);
    for &b in bytes.get(1..)? {
        v = v << 8 | u64::from(b);
    }
    Some(v)
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = r.split_at_checked(n)?;
    *r = tail;
    Some(head)
}

fn take_u8(r: &mut &[u8]) -> Option<u8> {
    let (&b, tail) = r.split_first()?;
    *r = tail;
    Some(b)
}

#[cfg(test)]
mod tests;
