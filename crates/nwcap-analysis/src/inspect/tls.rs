//! TLS as seen in the first bytes of a TCP flow direction: the record header, the
//! ClientHello (offered versions, SNI, ALPN), the ServerHello (chosen version, ALPN, a
//! HelloRetryRequest) and cleartext alerts.
//!
//! It owns reading those messages from borrowed bytes and telling the caller how many bytes
//! to buffer when a hello is split over TCP segments. It never decrypts, never keeps state
//! between calls, never copies packet bytes (every slice it returns borrows its input; the one
//! owned buffer is the caller's, in [`join_handshake`], for the rare hello split over several
//! records), and never panics or loops beyond its input's length, whatever the bytes.

/// Record content types (RFC 8446 §5.1).
pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;

/// Handshake message types read here.
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;

/// The largest hello we are willing to have the caller buffer. Real ones are under 2 KiB
/// (post-quantum key shares included); anything near 2^24 is garbage, not a hello.
pub const MAX_HELLO_LEN: usize = 32 * 1024;

/// The most bytes [`parse`] ever asks the caller to buffer: a hello of [`MAX_HELLO_LEN`]
/// cut into small records costs more than its length in record headers, but not this much.
pub const MAX_BUFFER: usize = 2 * MAX_HELLO_LEN;

/// At most this many ALPN protocols and supported versions are kept from a ClientHello.
pub const MAX_ALPN: usize = 8;
pub const MAX_VERSIONS: usize = 8;

/// A record body may be 2^14 bytes plus 2048 of expansion (RFC 8446 §5.2); larger is not TLS.
const MAX_RECORD_BODY: usize = (1 << 14) + 2048;

/// The ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256("HelloRetryRequest").
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// The 5-byte header of a TLS record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    /// Length of the record body (after the 5 header bytes).
    pub len: usize,
}

impl RecordHeader {
    /// Header plus body.
    pub fn total_len(&self) -> usize {
        5 + self.len
    }
}

/// The record header at the start of `payload`, when it looks like TLS: content type 20..=23,
/// legacy version 0x0300..=0x0304 and a body no longer than the protocol allows.
pub fn record_header(payload: &[u8]) -> Option<RecordHeader> {
    let mut r = Reader::new(payload);
    let content_type = r.u8()?;
    let version = r.u16()?;
    let len = usize::from(r.u16()?);
    let plausible = (CHANGE_CIPHER_SPEC..=APPLICATION_DATA).contains(&content_type)
        && (0x0300..=0x0304).contains(&version)
        && len <= MAX_RECORD_BODY;
    plausible.then_some(RecordHeader {
        content_type,
        version,
        len,
    })
}

/// Whether a payload shorter than a record header could still begin one (a segment of 1 to 4
/// bytes is rare but legal).
fn starts_like_record(payload: &[u8]) -> bool {
    let type_ok = payload
        .first()
        .is_some_and(|t| (CHANGE_CIPHER_SPEC..=APPLICATION_DATA).contains(t));
    let major_ok = payload.get(1).is_none_or(|&m| m == 3);
    let minor_ok = payload.get(2).is_none_or(|&m| m <= 4);
    payload.len() < 5 && type_ok && major_ok && minor_ok
}

/// Whether `payload` starts with a TLS record, and if so how many bytes (from the start of
/// `payload`) the first record needs.
pub fn record_len(payload: &[u8]) -> Option<usize> {
    record_header(payload).map(|h| h.total_len())
}

/// Why [`parse`] gave no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Not a TLS record start, or a malformed hello: stop looking at this direction.
    Invalid,
    /// A hello is cut short: buffer until the payload holds at least this many bytes from its
    /// start (never more than [`MAX_BUFFER`]), then call again on the concatenation. The count may grow once more when the
    /// message continues in a record whose header is not yet visible.
    Bytes(usize),
    /// The whole hello is there but spread over several records: gather it with
    /// [`join_handshake`] and read it with [`parse_handshake`].
    Join,
}

/// What the first record of a flow direction says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    ClientHello(ClientHello<'a>),
    ServerHello(ServerHello<'a>),
    Alert(Alert),
    /// Another handshake message type (e.g. an encrypted TLS 1.2 Finished reads as garbage).
    Handshake(u8),
    /// ChangeCipherSpec or application data: `content_type`.
    Other(u8),
}

/// A cleartext alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    pub level: u8,
    pub description: u8,
}

impl Alert {
    /// Level 2 is fatal (RFC 5246 §7.2; TLS 1.3 treats every alert but close_notify and
    /// user_canceled as fatal whatever the level).
    pub fn is_fatal(&self) -> bool {
        self.level == 2
    }

    pub fn name(&self) -> &'static str {
        alert_name(self.description)
    }
}

/// A fixed-capacity list, so reading a hello allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: usize,
    /// Entries dropped because the list was full.
    pub dropped: usize,
}

impl<T: Copy + Default, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        List {
            items: [T::default(); N],
            len: 0,
            dropped: 0,
        }
    }
}

impl<T: Copy + Default, const N: usize> List<T, N> {
    fn push(&mut self, item: T) {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len += 1;
            }
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }

    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

/// What a ClientHello offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHello<'a> {
    pub legacy_version: u16,
    /// The non-GREASE versions of `supported_versions` (ext 43), in offered order; empty
    /// when the extension is absent (TLS 1.2 and older clients).
    pub versions: List<u16, MAX_VERSIONS>,
    /// The first host_name of server_name (ext 0), when it is printable UTF-8.
    pub sni: Option<&'a str>,
    /// ALPN protocols (ext 16) that are UTF-8, in offered order.
    pub alpn: List<&'a str, MAX_ALPN>,
    /// The cipher suite list, 2 bytes per suite, as sent.
    pub cipher_suites: &'a [u8],
    /// The raw extensions block (for fingerprints the caller may compute).
    pub extensions: &'a [u8],
}

impl ClientHello<'_> {
    /// The highest version offered: the highest non-GREASE entry of supported_versions, or
    /// the legacy version when the extension is absent.
    pub fn max_version(&self) -> u16 {
        self.versions
            .as_slice()
            .iter()
            .copied()
            .max()
            .unwrap_or(self.legacy_version)
    }
}

/// What a ServerHello chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello<'a> {
    pub legacy_version: u16,
    pub cipher_suite: u16,
    /// supported_versions (ext 43): the TLS 1.3 way of saying the version.
    pub selected_version: Option<u16>,
    /// ALPN (ext 16). Only TLS 1.2 servers put it here; TLS 1.3 sends it encrypted.
    pub alpn: Option<&'a str>,
    /// The special random of a HelloRetryRequest (RFC 8446 §4.1.3).
    pub hello_retry_request: bool,
}

impl ServerHello<'_> {
    /// The negotiated version: supported_versions when present, else the legacy field.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

/// Reads the first record of a TCP payload.
///
/// A ClientHello or ServerHello that is not whole yet gives `Err(Need::Bytes(n))`; other
/// handshake types are reported as soon as their type byte is visible, since only hellos
/// are read.
pub fn parse(payload: &[u8]) -> Result<Message<'_>, Need> {
    let Some(header) = record_header(payload) else {
        return Err(if starts_like_record(payload) {
            Need::Bytes(5)
        } else {
            Need::Invalid
        });
    };
    let body_start = 5;
    match header.content_type {
        ALERT => {
            // An encrypted alert is longer than 2 bytes; only a 2-byte body is cleartext.
            if header.len != 2 {
                return Ok(Message::Other(ALERT));
            }
            let body = payload
                .get(body_start..body_start + 2)
                .ok_or(Need::Bytes(7))?;
            match body {
                [level, description] => Ok(Message::Alert(Alert {
                    level: *level,
                    description: *description,
                })),
                _ => Err(Need::Invalid),
            }
        }
        HANDSHAKE => parse_first_handshake(payload, header),
        other => Ok(Message::Other(other)),
    }
}

fn parse_first_handshake(payload: &[u8], header: RecordHeader) -> Result<Message<'_>, Need> {
    match hello_or_type(payload, header) {
        // A hello in thousands of tiny records is an attack on the caller's buffer, not TLS.
        Err(Need::Bytes(n)) if n > MAX_BUFFER => Err(Need::Invalid),
        other => other,
    }
}

fn hello_or_type(payload: &[u8], header: RecordHeader) -> Result<Message<'_>, Need> {
    let Some(&msg_type) = payload.get(5) else {
        return Err(Need::Bytes(6));
    };
    if header.len == 0 {
        return Err(Need::Invalid);
    }
    if msg_type != CLIENT_HELLO && msg_type != SERVER_HELLO {
        return Ok(Message::Handshake(msg_type));
    }
    match handshake_extent(payload)? {
        Extent::OneRecord(end) => {
            let msg = payload.get(5..end).ok_or(Need::Bytes(end))?;
            parse_handshake(msg).ok_or(Need::Invalid)
        }
        Extent::Records => Err(Need::Join),
    }
}

enum Extent {
    /// The message lies in the first record, ending at this payload offset.
    OneRecord(usize),
    /// The message spans records, all present.
    Records,
}

/// Where the first handshake message of `payload` ends, walking as many handshake records
/// as it spans. Bounded: each step moves past a whole record (at least 6 bytes).
fn handshake_extent(payload: &[u8]) -> Result<Extent, Need> {
    let first = record_header(payload).ok_or(Need::Invalid)?;
    // The 4-byte handshake header may itself straddle records, hence gathered byte by byte.
    let mut hs_header = [0u8; 4];
    let mut got = 0usize;
    let mut msg_total: Option<usize> = None;
    // Message bytes carried by the records before the current one.
    let mut collected = 0usize;
    let mut offset = 0usize;
    loop {
        let rest = payload.get(offset..).unwrap_or(&[]);
        let h = match record_header(rest) {
            Some(h) => h,
            None if rest.len() < 5 => return Err(Need::Bytes(offset + 5)),
            None => return Err(Need::Invalid),
        };
        if h.content_type != HANDSHAKE || h.len == 0 {
            return Err(Need::Invalid);
        }
        let body_start = offset + 5;
        let body_end = body_start + h.len;
        let available = payload
            .get(body_start..body_end.min(payload.len()))
            .unwrap_or(&[]);
        for &b in available.iter().take(4 - got.min(4)) {
            if let Some(slot) = hs_header.get_mut(got) {
                *slot = b;
                got += 1;
            }
        }
        if msg_total.is_none() && got == 4 {
            let [_, a, b, c] = hs_header;
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if len > MAX_HELLO_LEN {
                return Err(Need::Invalid);
            }
            msg_total = Some(4 + len);
        }
        match msg_total {
            Some(total) if collected + h.len >= total => {
                // Only the part of this record up to the message's end is needed.
                let end = body_start + total.saturating_sub(collected);
                if end > payload.len() {
                    return Err(Need::Bytes(end));
                }
                return Ok(if total <= first.len {
                    Extent::OneRecord(end)
                } else {
                    Extent::Records
                });
            }
            _ if body_end > payload.len() => {
                // This record whole, and the next header, since more is to come.
                let more = if msg_total.is_some() { 5 } else { 0 };
                return Err(Need::Bytes(body_end + more));
            }
            _ => {}
        }
        collected += h.len;
        offset = body_end;
    }
}

/// Copies the first handshake message of `payload`, spread over several handshake records,
/// into `out` (cleared first), so [`parse_handshake`] can read it. This is the one place a
/// hello is copied, for the rare message that does not fit one record.
pub fn join_handshake(payload: &[u8], out: &mut Vec<u8>) -> Result<(), Need> {
    out.clear();
    if let Extent::OneRecord(end) = handshake_extent(payload)? {
        out.extend_from_slice(payload.get(5..end).ok_or(Need::Bytes(end))?);
        return Ok(());
    }
    let mut offset = 0usize;
    let mut total: Option<usize> = None;
    // handshake_extent proved the records are there; the loop still guards every access.
    while offset < payload.len() {
        let h = record_header(payload.get(offset..).unwrap_or(&[])).ok_or(Need::Invalid)?;
        let body = payload
            .get(offset + 5..offset + 5 + h.len)
            .ok_or(Need::Invalid)?;
        let want = total.map_or(body.len(), |t| t.saturating_sub(out.len()).min(body.len()));
        out.extend_from_slice(body.get(..want).unwrap_or(body));
        if total.is_none() {
            if let (Some(&a), Some(&b), Some(&c)) = (out.get(1), out.get(2), out.get(3)) {
                total = Some(4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c)));
            }
        }
        if let Some(t) = total {
            if out.len() >= t {
                out.truncate(t);
                return Ok(());
            }
        }
        offset += 5 + h.len;
    }
    Err(Need::Invalid)
}

/// Reads one handshake message (4-byte header included) as a hello, or reports its type.
pub fn parse_handshake(msg: &[u8]) -> Option<Message<'_>> {
    let mut r = Reader::new(msg);
    let msg_type = r.u8()?;
    let len = r.u24()?;
    let body = r.take(len)?;
    match msg_type {
        CLIENT_HELLO => parse_client_hello_body(body).map(Message::ClientHello),
        SERVER_HELLO => parse_server_hello_body(body).map(Message::ServerHello),
        other => Some(Message::Handshake(other)),
    }
}

/// Reads a ClientHello body (after the 4-byte handshake header). QUIC carries the same
/// message in CRYPTO frames, without records, so this is public.
pub fn parse_client_hello_body(body: &[u8]) -> Option<ClientHello<'_>> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    r.take(32)?; // random
    r.vec8()?; // legacy_session_id
    let cipher_suites = r.vec16()?;
    r.vec8()?; // legacy_compression_methods
    let mut hello = ClientHello {
        legacy_version,
        versions: List::default(),
        sni: None,
        alpn: List::default(),
        cipher_suites,
        extensions: &[],
    };
    // SSL 3.0 hellos may end here, without extensions.
    if r.is_empty() {
        return Some(hello);
    }
    let extensions = r.vec16()?;
    hello.extensions = extensions;
    let (mut seen_sni, mut seen_alpn, mut seen_versions) = (false, false, false);
    for (ty, data) in Extensions(Reader::new(extensions)) {
        // Duplicates are illegal; the first one is what a server would act on.
        match ty {
            EXT_SERVER_NAME if !seen_sni => {
                seen_sni = true;
                hello.sni = server_name(data);
            }
            EXT_ALPN if !seen_alpn => {
                seen_alpn = true;
                let mut list = Reader::new(data);
                if let Some(names) = list.vec16() {
                    let mut names = Reader::new(names);
                    while let Some(name) = names.vec8() {
                        if let Some(name) = printable(name) {
                            hello.alpn.push(name);
                        }
                    }
                }
            }
            EXT_SUPPORTED_VERSIONS if !seen_versions => {
                seen_versions = true;
                let mut list = Reader::new(data);
                if let Some(versions) = list.vec8() {
                    let mut versions = Reader::new(versions);
                    while let Some(v) = versions.u16() {
                        if !is_grease(v) {
                            hello.versions.push(v);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Some(hello)
}

/// Reads a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello_body(body: &[u8]) -> Option<ServerHello<'_>> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    r.vec8()?; // legacy_session_id_echo
    let cipher_suite = r.u16()?;
    r.u8()?; // legacy_compression_method
    let mut hello = ServerHello {
        legacy_version,
        cipher_suite,
        selected_version: None,
        alpn: None,
        hello_retry_request: random == HRR_RANDOM,
    };
    if r.is_empty() {
        return Some(hello);
    }
    for (ty, data) in Extensions(Reader::new(r.vec16()?)) {
        let mut ext = Reader::new(data);
        match ty {
            EXT_SUPPORTED_VERSIONS if hello.selected_version.is_none() => {
                hello.selected_version = ext.u16();
            }
            EXT_ALPN if hello.alpn.is_none() => {
                hello.alpn = ext
                    .vec16()
                    .and_then(|list| Reader::new(list).vec8())
                    .and_then(printable);
            }
            _ => {}
        }
    }
    Some(hello)
}

/// The first host_name of a server_name extension body, when printable.
fn server_name(data: &[u8]) -> Option<&str> {
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.vec16()?);
    while let Some(name_type) = list.u8() {
        let name = list.vec16()?;
        if name_type == 0 {
            return printable(name);
        }
    }
    None
}

/// `bytes` as `&str` when non-empty UTF-8 with no control characters, so a report can print
/// it as is.
fn printable(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    (!s.is_empty() && !s.chars().any(char::is_control)).then_some(s)
}

/// GREASE values (RFC 8701): 0x?a?a with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Extensions as (type, body) until the block ends or is malformed.
struct Extensions<'a>(Reader<'a>);

impl<'a> Iterator for Extensions<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let ty = self.0.u16()?;
        let data = self.0.vec16()?;
        Some((ty, data))
    }
}

/// A name for a protocol version: "TLS 1.3", "SSL 3.0", …
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0002 | 0x0200 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        0x7f00..=0x7fff => "TLS 1.3 draft",
        0xfeff => "DTLS 1.0",
        0xfefd => "DTLS 1.2",
        0xfefc => "DTLS 1.3",
        v if is_grease(v) => "GREASE",
        _ => "unknown",
    }
}

/// The name of an alert description (RFC 8446 §6, with the older ones of RFC 5246).
pub fn alert_name(desc: u8) -> &'static str {
    match desc {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

/// A cursor over borrowed bytes whose every read is checked.
#[derive(Debug, Clone, Copy)]
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.buf.split_at_checked(n)?;
        self.buf = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.buf.split_first()?;
        self.buf = tail;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some(
            usize::from(*b.first()?) << 16 | usize::from(*b.get(1)?) << 8 | usize::from(*b.get(2)?),
        )
    }

    /// A vector with a 1-byte length prefix.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    /// A vector with a 2-byte length prefix.
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
}

#[cfg(test)]
pub(crate) mod tests;
