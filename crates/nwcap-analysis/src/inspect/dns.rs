//! DNS messages (RFC 1035): the header, the questions and the answer section of one message,
//! read in place from a UDP payload or from the length-prefixed messages of a TCP segment.
//!
//! It owns the walk over names (labels, compression pointers) and records. It never copies
//! the message (names borrow it and are written out only into a caller's `String`), never
//! panics on any input, and never loops beyond caps fixed here: 64 pointer jumps and 255 bytes
//! per name, 64 records per section walked, 16 questions.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Compression pointers followed per name: a chain longer than this is a loop or an attack.
pub const MAX_POINTER_JUMPS: u8 = 64;
/// A name's wire length (every length byte and label, the root's zero included), RFC 1035 §3.1.
pub const MAX_NAME_LEN: usize = 255;
/// Records walked per section, whatever the header's count says.
pub const MAX_RECORDS: u16 = 64;
/// Questions accepted: real queries carry one, random bytes on port 53 often claim thousands.
pub const MAX_QUESTIONS: u16 = 16;

const HEADER_LEN: usize = 12;
/// Smallest question: the root name (1 byte), type and class.
const MIN_QUESTION_LEN: usize = 5;
/// Smallest record: the root name, type, class, TTL and rdlength.
const MIN_RECORD_LEN: usize = 11;

/// One parsed DNS message. The header is checked and every question has parsed; the answer
/// section is read lazily by [`Message::answers`].
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    bytes: &'a [u8],
    id: u16,
    flags: u16,
    qdcount: u16,
    ancount: u16,
    nscount: u16,
    arcount: u16,
    /// Offset of the answer section, just past the last question.
    answers_at: usize,
}

/// Parses one DNS message (a whole UDP payload, or one message from [`tcp_messages`]).
///
/// Returns `None` for anything that is not plausibly DNS, so that random payload on port 53
/// is rejected: an opcode above 5, no question or more than 16, counts that could not fit in
/// the message, or a question that does not parse.
pub fn parse(msg: &[u8]) -> Option<Message<'_>> {
    let field = |i: usize| be16(msg, i.checked_mul(2)?);
    let (id, flags) = (field(0)?, field(1)?);
    let (qdcount, ancount, nscount, arcount) = (field(2)?, field(3)?, field(4)?, field(5)?);
    let m = Message {
        bytes: msg,
        id,
        flags,
        qdcount,
        ancount,
        nscount,
        arcount,
        answers_at: 0,
    };
    if m.opcode() > 5 || qdcount == 0 || qdcount > MAX_QUESTIONS {
        return None;
    }
    // Each question and record needs a minimum of bytes: counts that cannot fit are noise.
    // From u16 counts: at most about 2.5 million, no overflow.
    let records = usize::from(ancount) + usize::from(nscount) + usize::from(arcount);
    let least = usize::from(qdcount) * MIN_QUESTION_LEN + records * MIN_RECORD_LEN;
    if least > msg.len().saturating_sub(HEADER_LEN) {
        return None;
    }
    let mut questions = Questions {
        msg,
        pos: HEADER_LEN,
        left: qdcount,
    };
    for _ in 0..qdcount {
        questions.next()?;
    }
    Some(Message {
        answers_at: questions.pos,
        ..m
    })
}

impl<'a> Message<'a> {
    /// The whole message, as given to [`parse`].
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    pub fn id(&self) -> u16 {
        self.id
    }
    /// The 16 flag bits of the header (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub fn flags(&self) -> u16 {
        self.flags
    }
    /// QR: the message is a response.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// 0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// The header's 4-bit response code (EDNS extended bits are not read).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
    pub fn is_authoritative(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    pub fn is_truncated(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    pub fn recursion_desired(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    pub fn recursion_available(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    pub fn qdcount(&self) -> u16 {
        self.qdcount
    }
    pub fn ancount(&self) -> u16 {
        self.ancount
    }
    pub fn nscount(&self) -> u16 {
        self.nscount
    }
    pub fn arcount(&self) -> u16 {
        self.arcount
    }
    /// The questions (all of them parsed when the message did).
    pub fn questions(&self) -> Questions<'a> {
        Questions {
            msg: self.bytes,
            pos: HEADER_LEN,
            left: self.qdcount,
        }
    }
    /// The first question, which [`parse`] guarantees.
    pub fn question(&self) -> Option<Question<'a>> {
        self.questions().next()
    }
    /// The answer section, at most [`MAX_RECORDS`] records; the walk stops at the first record
    /// that does not fit in the message (a truncated response yields what is complete).
    pub fn answers(&self) -> Records<'a> {
        Records {
            msg: self.bytes,
            pos: self.answers_at,
            left: self.ancount.min(MAX_RECORDS),
        }
    }
}

/// One question: the name asked about, its type and class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub qtype: u16,
    pub qclass: u16,
}

/// The question section. Each step consumes at least 5 bytes, and the count is the header's
/// (at most [`MAX_QUESTIONS`] once [`parse`] accepted it).
#[derive(Clone, Debug)]
pub struct Questions<'a> {
    msg: &'a [u8],
    pos: usize,
    left: u16,
}

impl<'a> Iterator for Questions<'a> {
    type Item = Question<'a>;
    fn next(&mut self) -> Option<Question<'a>> {
        self.left = self.left.checked_sub(1)?;
        let parsed = (|| {
            let (name, end) = Name::parse(self.msg, self.pos)?;
            let qtype = be16(self.msg, end)?;
            let qclass = be16(self.msg, end.checked_add(2)?)?;
            Some((
                Question {
                    name,
                    qtype,
                    qclass,
                },
                end.checked_add(4)?,
            ))
        })();
        match parsed {
            Some((q, next)) => {
                self.pos = next;
                Some(q)
            }
            None => {
                self.left = 0;
                None
            }
        }
    }
}

/// One resource record of the answer section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub name: Name<'a>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: RData<'a>,
}

/// A record's data: the types the report shows are decoded, the rest is the raw rdata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RData<'a> {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Name<'a>),
    /// Any other type, or an A/AAAA/CNAME whose rdata has the wrong size.
    Other(&'a [u8]),
}

/// A walk over records. It stops at the first record that does not fit (without error: the
/// message may be a truncated capture) and after at most [`MAX_RECORDS`].
#[derive(Clone, Debug)]
pub struct Records<'a> {
    msg: &'a [u8],
    pos: usize,
    left: u16,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;
    fn next(&mut self) -> Option<Record<'a>> {
        self.left = self.left.checked_sub(1)?;
        match record_at(self.msg, self.pos) {
            Some((r, next)) => {
                self.pos = next;
                Some(r)
            }
            None => {
                self.left = 0;
                None
            }
        }
    }
}

fn record_at(msg: &[u8], pos: usize) -> Option<(Record<'_>, usize)> {
    let (name, at) = Name::parse(msg, pos)?;
    let rtype = be16(msg, at)?;
    let class = be16(msg, at.checked_add(2)?)?;
    let ttl_bytes = msg.get(at.checked_add(4)?..at.checked_add(8)?)?;
    let ttl = u32::from_be_bytes(ttl_bytes.try_into().ok()?);
    let rdlen = usize::from(be16(msg, at.checked_add(8)?)?);
    let start = at.checked_add(10)?;
    let end = start.checked_add(rdlen)?;
    let rdata = msg.get(start..end)?;
    let data = match rtype {
        1 => <[u8; 4]>::try_from(rdata).map(|b| RData::A(b.into())).ok(),
        28 => <[u8; 16]>::try_from(rdata)
            .map(|b| RData::Aaaa(b.into()))
            .ok(),
        // The target may point anywhere earlier, but its in-place bytes must stay in the rdata.
        5 => Name::parse(msg, start)
            .filter(|&(_, e)| e <= end)
            .map(|(n, _)| RData::Cname(n)),
        _ => None,
    };
    let data = data.unwrap_or(RData::Other(rdata));
    Some((
        Record {
            name,
            rtype,
            class,
            ttl,
            data,
        },
        end,
    ))
}

fn be16(msg: &[u8], at: usize) -> Option<u16> {
    let b = msg.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(b.try_into().ok()?))
}

/// Splits a TCP segment into the DNS messages it carries, each after its 2-byte length
/// (RFC 1035 §4.2.2). A message cut by the segment's end is not yielded: see
/// [`TcpMessages::rest`].
pub fn tcp_messages(segment: &[u8]) -> TcpMessages<'_> {
    TcpMessages { rest: segment }
}

/// Complete messages of a TCP segment; each step consumes at least the 2-byte prefix.
#[derive(Clone, Debug)]
pub struct TcpMessages<'a> {
    rest: &'a [u8],
}

impl<'a> TcpMessages<'a> {
    /// What is left: empty, or the start of a message the segment does not complete.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for TcpMessages<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = usize::from(be16(self.rest, 0)?);
        let msg = self.rest.get(2..len.checked_add(2)?)?;
        self.rest = self.rest.get(len.checked_add(2)?..).unwrap_or_default();
        Some(msg)
    }
}

/// A domain name inside a message: the message and the offset where the name starts. The
/// name's labels may be spread over the message by compression pointers, so it cannot be one
/// slice; it is read by [`Name::labels`] and written out by [`Name::write_to`] or `Display`.
///
/// A `Name` exists only once its walk has ended at the root within the caps, so every walk
/// over it (labels, display, equality) sees the same labels.
#[derive(Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    offset: usize,
}

impl<'a> Name<'a> {
    /// The name starting at `offset` in `msg`, if its walk ends at the root within the caps.
    pub fn at(msg: &'a [u8], offset: usize) -> Option<Name<'a>> {
        Name::parse(msg, offset).map(|(n, _)| n)
    }

    /// The name and the offset just past its in-place bytes (after the root's zero or the first
    /// pointer), where the record or question continues.
    fn parse(msg: &'a [u8], offset: usize) -> Option<(Name<'a>, usize)> {
        let mut labels = Labels::new(msg, offset);
        for _ in labels.by_ref() {}
        match (labels.state, labels.end) {
            (State::Done, Some(end)) => Some((Name { msg, offset }, end)),
            _ => None,
        }
    }

    /// The labels, most specific first, each borrowed from the message (the root's empty
    /// label is not yielded).
    pub fn labels(&self) -> Labels<'a> {
        Labels::new(self.msg, self.offset)
    }

    /// The message the name lives in, and where it starts.
    pub fn message(&self) -> &'a [u8] {
        self.msg
    }
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The root name (no labels).
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// Appends the dotted name to `out`, without a trailing dot, the root as `<Root>` as
    /// tshark writes it. Bytes outside printable ASCII, and dots or backslashes inside a
    /// label, are escaped as dig does (`\DDD`, `\.`), so the text reads back unambiguously.
    pub fn write_to(&self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = self.write(out);
    }

    fn write<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        let mut first = true;
        for label in self.labels() {
            if !first {
                w.write_char('.')?;
            }
            first = false;
            for &b in label {
                match b {
                    b'.' | b'\\' => {
                        w.write_char('\\')?;
                        w.write_char(char::from(b))?;
                    }
                    0x21..=0x7e => w.write_char(char::from(b))?,
                    _ => write!(w, "\\{b:03}")?,
                }
            }
        }
        if first {
            w.write_str("<Root>")?;
        }
        Ok(())
    }

    /// Compares with a dotted name, ASCII case-insensitively; a trailing dot is ignored and the
    /// root matches `""` or `"."`. Labels holding a dot or escapes are not matched.
    pub fn eq_str(&self, dotted: &str) -> bool {
        let dotted = dotted.strip_suffix('.').unwrap_or(dotted);
        if dotted.is_empty() {
            return self.is_root();
        }
        let mut mine = self.labels();
        for part in dotted.split('.') {
            match mine.next() {
                Some(l) if l.eq_ignore_ascii_case(part.as_bytes()) => {}
                _ => return false,
            }
        }
        mine.next().is_none()
    }
}

/// Names are equal when their labels are, ASCII case-insensitively (RFC 4343), wherever they
/// live.
impl PartialEq for Name<'_> {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (self.labels(), other.labels());
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
                _ => return false,
            }
        }
    }
}
impl Eq for Name<'_> {}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self} @{})", self.offset)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Walking,
    Done,
    Bad,
}

/// The labels of a name, following pointers. Bounded: at most [`MAX_POINTER_JUMPS`] jumps
/// and labels totalling at most [`MAX_NAME_LEN`] bytes, each label consuming at least one.
#[derive(Clone, Debug)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    jumps: u8,
    wire: usize,
    /// Just past the name's in-place bytes, once known.
    end: Option<usize>,
    state: State,
}

impl<'a> Labels<'a> {
    fn new(msg: &'a [u8], pos: usize) -> Self {
        Labels {
            msg,
            pos,
            jumps: 0,
            wire: 0,
            end: None,
            state: State::Walking,
        }
    }
    fn fail(&mut self) -> Option<&'a [u8]> {
        self.state = State::Bad;
        None
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        // Each turn yields a label, ends the name, or follows one of the capped pointers.
        while self.state == State::Walking {
            let Some(&len) = self.msg.get(self.pos) else {
                return self.fail();
            };
            // pos indexes the message, so this cannot overflow; checked all the same.
            let Some(after) = self.pos.checked_add(1) else {
                return self.fail();
            };
            match len >> 6 {
                0 => {
                    let len = usize::from(len);
                    // At most 255 + 64: the cap below stops the walk first.
                    self.wire += len + 1;
                    if self.wire > MAX_NAME_LEN {
                        return self.fail();
                    }
                    if len == 0 {
                        self.end.get_or_insert(after);
                        self.state = State::Done;
                        return None;
                    }
                    let Some(stop) = after.checked_add(len) else {
                        return self.fail();
                    };
                    let Some(label) = self.msg.get(after..stop) else {
                        return self.fail();
                    };
                    self.pos = stop;
                    return Some(label);
                }
                3 => {
                    let Some(&low) = self.msg.get(after) else {
                        return self.fail();
                    };
                    if self.jumps >= MAX_POINTER_JUMPS {
                        return self.fail();
                    }
                    self.jumps += 1;
                    let Some(past) = after.checked_add(1) else {
                        return self.fail();
                    };
                    self.end.get_or_insert(past);
                    self.pos = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                }
                // 01 and 10 are the extended label types (RFC 6891), obsolete and unused.
                _ => return self.fail(),
            }
        }
        None
    }
}

/// The name of a response code, as dig and tshark write it.
pub fn rcode_name(rcode: u8) -> &'static str {
    const NAMES: [&str; 17] = [
        "NOERROR",
        "FORMERR",
        "SERVFAIL",
        "NXDOMAIN",
        "NOTIMP",
        "REFUSED",
        "YXDOMAIN",
        "YXRRSET",
        "NXRRSET",
        "NOTAUTH",
        "NOTZONE",
        "DSOTYPENI",
        "RCODE12",
        "RCODE13",
        "RCODE14",
        "RCODE15",
        "BADVERS",
    ];
    NAMES.get(usize::from(rcode)).copied().unwrap_or("RCODE?")
}

/// The mnemonic of a record type, `None` for types without one here.
pub fn known_type_name(rtype: u16) -> Option<&'static str> {
    Some(match rtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        52 => "TLSA",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return None,
    })
}

/// The name of a record type: the mnemonic, else `TYPE123` as RFC 3597 and dig write it
/// (only that case allocates).
pub fn type_name(rtype: u16) -> Cow<'static, str> {
    match known_type_name(rtype) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(format!("TYPE{rtype}")),
    }
}

// Kept apart so the parser reads on its own.
#[cfg(test)]
mod tests;
