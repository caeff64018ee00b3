//! Flow rows as compact JSON, written by hand: exactly the bytes `serde_json` writes for a
//! [`FlowRow`], without its per-field machinery and its string escaping, which together were
//! most of the cost of a large report. The `Serialize` derive on `FlowRow` stays the
//! definition of the schema: this module never adds, renames or reorders a field, and its
//! tests hold it to `serde_json` byte for byte.
//!
//! Strings are written without escaping because none can need it: addresses, RFC 3339
//! times, protocol names from a static table, TCP states, initiators and flag letters are
//! plain ASCII without quotes, backslashes or control characters.

use std::borrow::Cow;
use std::io;

use serde_json::ser::{CompactFormatter, Formatter};

use super::chunk::Chunk;
use super::time::DIGIT_PAIRS;
use super::{DirCount, Flags, FlowRow, IpText, Proto, Secs, TcpRow, Timestamp};
use crate::decode::proto_name;

/// Longer than any row can be (~900 bytes at most: every number at its widest, IPv6
/// addresses of 39 characters). A power of two: every write goes at an offset masked to
/// it, which tells the compiler that the fixed-size writes fit [`ROW_MAX`], where a bounds
/// check before each of a row's ~60 writes cost ~5 % of it.
const ROW_SPAN: usize = 2048;

/// A row's room: its span, and past it room for the widest fixed-size write (an IPv6
/// address's 39 bytes) and the bytes some writes put past a piece's end.
const ROW_MAX: usize = ROW_SPAN + 64;

/// A row being written, in place in the chunk's room (see [`Chunk::room`]): pieces go in
/// with fixed-size copies and digits written in place. Appending each piece to a `Vec`, as
/// rows once were, called `memcpy` for each of a row's ~25 pieces of varying length and
/// checked the capacity for each, a fifth of a row's cost.
pub(super) struct Row<'a> {
    b: &'a mut [u8; ROW_MAX],
    n: usize,
}

impl<'a> Row<'a> {
    /// A row written from the start of `b`.
    fn new(b: &'a mut [u8; ROW_MAX]) -> Row<'a> {
        Row { b, n: 0 }
    }

    /// What was written.
    #[cfg(test)]
    fn text(&self) -> &[u8] {
        &self.b[..self.n]
    }

    /// Where the next piece goes (see [`ROW_SPAN`]).
    #[inline(always)]
    fn at(&self) -> usize {
        self.n & (ROW_SPAN - 1)
    }

    /// A literal.
    #[inline(always)]
    fn lit<const N: usize>(&mut self, s: &[u8; N]) {
        let at = self.at();
        self.b[at..at + N].copy_from_slice(s);
        self.n = at + N;
    }

    /// A string of any length (protocol names, states: a few a row).
    #[inline(always)]
    fn bytes(&mut self, s: &[u8]) {
        self.b[self.n..self.n + s.len()].copy_from_slice(s);
        self.n += s.len();
    }

    /// The next `N` bytes, for a renderer that writes in place and says how many it used.
    #[inline(always)]
    fn room<const N: usize>(&mut self) -> &mut [u8; N] {
        let at = self.at();
        let room = &mut self.b[at..at + N];
        room.try_into().expect("a slice of N bytes")
    }

    /// An integer in decimal, as `itoa` (and so `serde_json`) writes it: digits by pairs,
    /// from the last, straight into place. Returns where they start.
    #[inline(always)]
    fn int(&mut self, v: impl Into<u64>) -> usize {
        let mut v: u64 = v.into();
        // Digits: the power of ten just below 2^bits, corrected by one comparison.
        let bits = 64 - (v | 1).leading_zeros() as usize;
        let guess = (bits * 1233) >> 12;
        let len = guess + usize::from(v >= POW10[guess]);
        let at = self.at();
        let mut end = len.max(1);
        // At most 20 digits: indexes masked to 32 in a window of 64 need no bounds check.
        let d = self.room::<64>();
        while v >= 100 {
            let i = 2 * (v % 100) as usize;
            v /= 100;
            end -= 2;
            let e = end & 31;
            d[e..e + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        }
        if v >= 10 {
            let i = 2 * v as usize;
            d[(end - 2) & 31..((end - 2) & 31) + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        } else {
            d[(end - 1) & 31] = b'0' + v as u8;
        }
        self.n = at + len.max(1);
        at
    }

    /// The `len` bytes written at `from` (at most 32) again.
    #[inline(always)]
    fn again(&mut self, from: usize, len: usize) {
        let from = from & (ROW_SPAN - 1);
        let mut text = [0; 32];
        text.copy_from_slice(&self.b[from..from + 32]);
        let at = self.at();
        self.b[at..at + 32].copy_from_slice(&text);
        self.n = at + (len & 31);
    }
}

/// 10^i.
const POW10: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// Appends one flow as a JSON object (no separator, no newline) to `chunk`.
pub(super) fn flow_row(f: &FlowRow, chunk: &mut Chunk) -> io::Result<()> {
    let mut row = Row::new(chunk.room());
    write_row(f, &mut row)?;
    let n = row.n;
    chunk.advance(n);
    Ok(())
}

fn write_row(f: &FlowRow, r: &mut Row) -> io::Result<()> {
    r.lit(b"{\"protocol\":");
    proto(f.protocol, r);
    r.lit(b",\"local_ip\":");
    ip(f.local_ip, r);
    r.lit(b",\"local_port\":");
    opt_int(f.local_port, r);
    r.lit(b",\"remote_ip\":");
    ip(f.remote_ip, r);
    r.lit(b",\"remote_port\":");
    opt_int(f.remote_port, r);
    r.lit(b",\"icmp_id\":");
    opt_int(f.icmp_id, r);
    r.lit(b",\"out\":");
    dir(&f.out, r);
    r.lit(b",\"in\":");
    dir(&f.inbound, r);
    r.lit(b",\"first_ts\":");
    opt_ts(f.first_ts, r);
    r.lit(b",\"last_ts\":");
    opt_ts(f.last_ts, r);
    r.lit(b",\"duration_s\":");
    opt_secs(f.duration_s, r)?;
    r.lit(b",\"tcp\":");
    match &f.tcp {
        Some(t) => tcp(t, r)?,
        None => r.lit(b"null"),
    }
    r.lit(b"}");
    Ok(())
}

fn tcp(t: &TcpRow, r: &mut Row) -> io::Result<()> {
    r.lit(b"{\"initiator\":");
    match t.initiator {
        Some(s) => string(s, r),
        None => r.lit(b"null"),
    }
    r.lit(b",\"state\":");
    string(t.state, r);
    r.lit(b",\"flags_out\":");
    flags(t.flags_out, r);
    r.lit(b",\"flags_in\":");
    flags(t.flags_in, r);
    r.lit(b",\"syn_fin_rst_out\":");
    counts(t.syn_fin_rst_out, r);
    r.lit(b",\"syn_fin_rst_in\":");
    counts(t.syn_fin_rst_in, r);
    r.lit(b",\"syn_to_synack_s\":");
    opt_secs(t.syn_to_synack_s, r)?;
    r.lit(b",\"synack_to_ack_s\":");
    opt_secs(t.synack_to_ack_s, r)?;
    r.lit(b",\"handshake_rtt_s\":");
    opt_secs(t.handshake_rtt_s, r)?;
    r.lit(b"}");
    Ok(())
}

/// A string that needs no escaping (see the module documentation).
fn string(s: &str, r: &mut Row) {
    r.lit(b"\"");
    r.bytes(s.as_bytes());
    r.lit(b"\"");
}

/// The protocol's name, or its number when it has none, as [`Proto`] serializes.
fn proto(p: Proto, r: &mut Row) {
    match proto_name(p.0) {
        Cow::Borrowed(name) => string(name, r),
        Cow::Owned(_) => {
            r.int(p.0);
        }
    }
}

fn ip(a: IpText, r: &mut Row) {
    r.lit(b"\"");
    let n = a.render_ascii(r.room());
    r.n += n;
    r.lit(b"\"");
}

/// The letters of the flags set, in `FSRPAUEC` order, and the closing quote, from a table:
/// writing each letter and keeping those of set flags cost ~70 instructions a set.
fn flags(f: Flags, r: &mut Row) {
    r.lit(b"\"");
    let text = &FLAG_TEXT[usize::from(f.0)];
    r.lit(text);
    r.n -= FLAG_TEXT_LEN - usize::from(text[FLAG_TEXT_LEN - 1]);
}

/// Bytes of a [`FLAG_TEXT`] entry; its last holds the length of its text.
const FLAG_TEXT_LEN: usize = 16;

/// For each flags byte: its letters and `"`, then zeros, then the length of the text.
static FLAG_TEXT: [[u8; FLAG_TEXT_LEN]; 256] = {
    let mut t = [[0; FLAG_TEXT_LEN]; 256];
    let mut f = 0;
    while f < 256 {
        let mut n = 0;
        let mut i = 0;
        while i < 8 {
            if f >> i & 1 != 0 {
                t[f][n] = b"FSRPAUEC"[i];
                n += 1;
            }
            i += 1;
        }
        t[f][n] = b'"';
        t[f][FLAG_TEXT_LEN - 1] = n as u8 + 1;
        f += 1;
    }
    t
};

fn counts(c: [u32; 3], r: &mut Row) {
    // Nearly always one digit each (a flow's SYN, FIN and RST segments): the whole array in
    // one 8-byte write, of which 7 are kept.
    if c.iter().all(|&v| v < 10) {
        let text = u64::from_le_bytes(*b"[0,0,0] ")
            + u64::from(c[0]) * (1 << 8)
            + u64::from(c[1]) * (1 << 24)
            + u64::from(c[2]) * (1 << 40);
        r.lit(&text.to_le_bytes());
        r.n -= 1;
        return;
    }
    r.lit(b"[");
    r.int(c[0]);
    r.lit(b",");
    r.int(c[1]);
    r.lit(b",");
    r.int(c[2]);
    r.lit(b"]");
}

fn dir(d: &DirCount, r: &mut Row) {
    r.lit(b"{\"packets\":");
    r.int(d.packets);
    r.lit(b",\"bytes\":");
    let digits = r.int(d.bytes);
    let len = r.n - digits;
    r.lit(b",\"captured_bytes\":");
    if d.captured_bytes == d.bytes {
        // Nearly always (only the snap length cuts packets): the same digits again.
        r.again(digits, len);
    } else {
        r.int(d.captured_bytes);
    }
    r.lit(b"}");
}

fn opt_ts(t: Option<Timestamp>, r: &mut Row) {
    match t {
        Some(t) => {
            r.lit(b"\"");
            let n = t.render_ascii(r.room());
            r.n += n;
            r.lit(b"\"");
        }
        None => r.lit(b"null"),
    }
}

fn opt_int(v: Option<u16>, r: &mut Row) {
    match v {
        Some(v) => {
            r.int(v);
        }
        None => r.lit(b"null"),
    }
}

/// Seconds as `serde_json` writes [`Secs::as_f64`]: from the nanoseconds' own digits where
/// those are the float's shortest (nearly always, see [`Secs::exact`]), else through
/// `serde_json`'s formatter, so that the digits cannot differ.
fn opt_secs(v: Option<Secs>, r: &mut Row) -> io::Result<()> {
    let Some(v) = v else {
        r.lit(b"null");
        return Ok(());
    };
    match v.exact() {
        Some((int, frac)) => {
            r.int(int);
            match super::time::frac_text(frac) {
                // All ten bytes are written; those past `len` are written over next.
                Some((text, len)) => {
                    r.lit(&text);
                    r.n -= 10 - len;
                }
                None => r.lit(b".0"),
            }
        }
        None => {
            let mut text = Vec::with_capacity(32);
            CompactFormatter.write_f64(&mut text, v.as_f64())?;
            r.bytes(&text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;
    use crate::filter::{FilterSet, FilterSpec};
    use crate::report::{self, DirCount};

    /// Asserts that the hand-written bytes of `row` equal `serde_json`'s.
    fn check(row: &FlowRow) {
        let mut chunk = Chunk::default();
        flow_row(row, &mut chunk).unwrap();
        let mine = chunk.as_slice();
        let theirs = serde_json::to_vec(row).unwrap();
        assert_eq!(
            String::from_utf8_lossy(mine),
            String::from_utf8_lossy(&theirs),
            "{row:?}"
        );
    }

    /// Every flow of every corpus capture, through the analyzer and the report as
    /// `analyze` builds them, with and without a given local address.
    #[test]
    fn corpus_rows_match_serde_json() {
        let mut rows = 0;
        for (_, analyzer, facts) in report::corpus_analyses() {
            let given = FilterSet::compile(&[FilterSpec {
                local_ip_address: Some("10.0.0.0-10.255.255.255;2001:db8::-2001:db8::ffff".into()),
                ..FilterSpec::default()
            }])
            .unwrap();
            for filters in [FilterSet::default(), given] {
                let sel = analyzer.select(&filters);
                let r = report::build(&analyzer, &sel, std::slice::from_ref(&facts), 10, 2);
                for row in r.flows.rows() {
                    check(&row);
                    rows += 1;
                }
            }
        }
        assert!(rows > 1000, "only {rows} corpus rows");
    }

    fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    /// Hand-made rows: every `None`/`Some`, every protocol number, IPv6, ICMP ids, extreme
    /// counters, timestamps and durations (negative, tiny, huge, at the edges of the exact
    /// digits' range).
    #[test]
    fn made_up_rows_match_serde_json() {
        let extreme = i128::from(i64::MAX) - i128::from(i64::MIN);
        let secs = [
            None,
            Some(Secs(0)),
            Some(Secs(8_119_000_000)),
            Some(Secs(100_000)),
            Some(Secs(1)),
            Some(Secs(-2)),
            Some(Secs(9_999)),
            Some(Secs(10_000)),
            Some(Secs(999_999_999_999_999)),
            Some(Secs(1_000_000_000_000_000)),
            Some(Secs(123_456_789_123_456_789)),
            Some(Secs(i128::from(i64::MIN))),
            Some(Secs(extreme)),
            Some(Secs(-extreme)),
            Some(Secs(10i128.pow(30))),
        ];
        let times = [
            None,
            Some(0),
            Some(-1),
            Some(1_300_475_167_096_535_000),
            Some(i64::MIN),
            Some(i64::MAX),
            Some(-9_000_000_000_000_000_001),
            Some(4_102_444_800_000_000_000),
        ];
        let v6 = |s: &str| IpText(s.parse::<std::net::IpAddr>().unwrap().into());
        let ips = [
            IpText(Addr::v4([10, 1, 0, 4])),
            IpText(Addr::v4([0, 0, 0, 0])),
            IpText(Addr::v4([255, 255, 255, 255])),
            v6("2001:db8::1"),
            v6("::"),
            v6("::ffff:192.0.2.1"),
            v6("fe80::1:0:0:2"),
            v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ];
        let ports = [None, Some(0), Some(80), Some(u16::MAX)];
        let counts = [0, 1, 999, u64::from(u32::MAX) + 1, u64::MAX];
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut rows = 0;
        for p in 0..=255u8 {
            for i in 0..40 {
                let r = |x: &mut u64, n: usize| xorshift(x) as usize % n;
                let dir = |x: &mut u64| DirCount {
                    packets: counts[r(x, counts.len())],
                    bytes: counts[r(x, counts.len())],
                    captured_bytes: counts[r(x, counts.len())],
                };
                let tcp = (p == crate::decode::proto::TCP || i % 2 == 0).then(|| TcpRow {
                    initiator: [None, Some("local"), Some("remote")][r(&mut x, 3)],
                    state: ["S0", "SF", "REJ", "RSTOS0", "OTH"][r(&mut x, 5)],
                    flags_out: Flags(xorshift(&mut x) as u8),
                    flags_in: Flags([0, 0xff, 0x12][r(&mut x, 3)]),
                    // One digit each, or not, at both sides of the bound.
                    syn_fin_rst_out: [0; 3].map(|_| [0, 1, 9, 10, u32::MAX][r(&mut x, 5)]),
                    syn_fin_rst_in: [xorshift(&mut x) as u32, 7, [0, 9, 10][r(&mut x, 3)]],
                    syn_to_synack_s: secs[r(&mut x, secs.len())],
                    synack_to_ack_s: secs[r(&mut x, secs.len())],
                    handshake_rtt_s: secs[r(&mut x, secs.len())],
                });
                let row = FlowRow {
                    protocol: Proto(p),
                    local_ip: ips[r(&mut x, ips.len())],
                    local_port: ports[r(&mut x, ports.len())],
                    remote_ip: ips[r(&mut x, ips.len())],
                    remote_port: ports[r(&mut x, ports.len())],
                    icmp_id: ports[r(&mut x, ports.len())],
                    out: dir(&mut x),
                    inbound: dir(&mut x),
                    first_ts: times[r(&mut x, times.len())].map(Timestamp),
                    last_ts: times[r(&mut x, times.len())].map(Timestamp),
                    duration_s: secs[r(&mut x, secs.len())],
                    tcp,
                };
                check(&row);
                rows += 1;
            }
        }
        assert_eq!(rows, 256 * 40);
    }

    /// Durations as the report computes them: nanosecond differences over 1e9.
    #[test]
    fn computed_durations_match_serde_json() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..200_000u64 {
            let ns = match i % 4 {
                0 => xorshift(&mut x) % 1_000_000,
                1 => xorshift(&mut x) % 1_000_000_000_000,
                2 => xorshift(&mut x) >> 1,
                _ => i,
            } as i64;
            let mut b = [0; ROW_MAX];
            let mut mine = Row::new(&mut b);
            opt_secs(Some(Secs(i128::from(ns))), &mut mine).unwrap();
            assert_eq!(
                mine.text(),
                serde_json::to_vec(&(ns as f64 / 1e9)).unwrap(),
                "{ns}"
            );
        }
    }

    /// Every field at its widest at once still leaves the row room to spare.
    #[test]
    fn the_widest_row_fits() {
        let v6 = IpText(
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"
                .parse::<std::net::IpAddr>()
                .unwrap()
                .into(),
        );
        let wide = DirCount {
            packets: u64::MAX,
            bytes: u64::MAX,
            captured_bytes: u64::MAX,
        };
        // Seconds in exponent notation with 17 significant digits (-1.2345678901234568e29).
        let f = Some(Secs(-123_456_789_012_345_678_901_234_567_890_123_456_789));
        let row = FlowRow {
            protocol: Proto(crate::decode::proto::ICMPV6),
            local_ip: v6,
            local_port: Some(u16::MAX),
            remote_ip: v6,
            remote_port: Some(u16::MAX),
            icmp_id: Some(u16::MAX),
            out: wide,
            inbound: wide,
            first_ts: Some(Timestamp(i64::MIN)),
            last_ts: Some(Timestamp(i64::MIN)),
            duration_s: f,
            tcp: Some(TcpRow {
                initiator: Some("remote"),
                state: "RSTOS0",
                flags_out: Flags(0xff),
                flags_in: Flags(0xff),
                syn_fin_rst_out: [u32::MAX; 3],
                syn_fin_rst_in: [u32::MAX; 3],
                syn_to_synack_s: f,
                synack_to_ack_s: f,
                handshake_rtt_s: f,
            }),
        };
        check(&row);
        let len = serde_json::to_vec(&row).unwrap().len();
        assert!(len + 64 < ROW_SPAN, "{len} bytes");
    }

    /// Integers at every digit count's edges, as `itoa` writes them.
    #[test]
    fn integers_match_itoa() {
        let mut values = vec![0, u64::MAX, u64::MAX - 1];
        for p in POW10 {
            values.extend([p - 1, p, p + 1, p / 2 * 3]);
        }
        for b in 0..64 {
            values.extend([1u64 << b, (1u64 << b) - 1]);
        }
        for v in values {
            let mut b = [0; ROW_MAX];
            let mut mine = Row::new(&mut b);
            mine.int(v);
            assert_eq!(mine.text(), itoa::Buffer::new().format(v).as_bytes(), "{v}");
        }
    }
}
