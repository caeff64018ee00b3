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

use super::{DirCount, Flags, FlowRow, IpText, Proto, TcpRow, Timestamp};
use crate::decode::proto_name;

/// Appends one flow as a JSON object (no separator, no newline) to `buf`.
pub(super) fn flow_row(f: &FlowRow, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.extend_from_slice(b"{\"protocol\":");
    proto(f.protocol, buf);
    buf.extend_from_slice(b",\"local_ip\":");
    ip(f.local_ip, buf);
    buf.extend_from_slice(b",\"local_port\":");
    opt_int(f.local_port, buf);
    buf.extend_from_slice(b",\"remote_ip\":");
    ip(f.remote_ip, buf);
    buf.extend_from_slice(b",\"remote_port\":");
    opt_int(f.remote_port, buf);
    buf.extend_from_slice(b",\"icmp_id\":");
    opt_int(f.icmp_id, buf);
    buf.extend_from_slice(b",\"out\":");
    dir(&f.out, buf);
    buf.extend_from_slice(b",\"in\":");
    dir(&f.inbound, buf);
    buf.extend_from_slice(b",\"first_ts\":");
    opt_ts(f.first_ts, buf);
    buf.extend_from_slice(b",\"last_ts\":");
    opt_ts(f.last_ts, buf);
    buf.extend_from_slice(b",\"duration_s\":");
    opt_f64(f.duration_s, buf)?;
    buf.extend_from_slice(b",\"tcp\":");
    match &f.tcp {
        Some(t) => tcp(t, buf)?,
        None => buf.extend_from_slice(b"null"),
    }
    buf.push(b'}');
    Ok(())
}

fn tcp(t: &TcpRow, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.extend_from_slice(b"{\"initiator\":");
    match t.initiator {
        Some(s) => string(s, buf),
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"state\":");
    string(t.state, buf);
    buf.extend_from_slice(b",\"flags_out\":");
    flags(t.flags_out, buf);
    buf.extend_from_slice(b",\"flags_in\":");
    flags(t.flags_in, buf);
    buf.extend_from_slice(b",\"syn_fin_rst_out\":");
    counts(t.syn_fin_rst_out, buf);
    buf.extend_from_slice(b",\"syn_fin_rst_in\":");
    counts(t.syn_fin_rst_in, buf);
    buf.extend_from_slice(b",\"syn_to_synack_s\":");
    opt_f64(t.syn_to_synack_s, buf)?;
    buf.extend_from_slice(b",\"synack_to_ack_s\":");
    opt_f64(t.synack_to_ack_s, buf)?;
    buf.extend_from_slice(b",\"handshake_rtt_s\":");
    opt_f64(t.handshake_rtt_s, buf)?;
    buf.push(b'}');
    Ok(())
}

/// A string that needs no escaping (see the module documentation).
fn string(s: &str, buf: &mut Vec<u8>) {
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
}

/// The protocol's name, or its number when it has none, as [`Proto`] serializes.
fn proto(p: Proto, buf: &mut Vec<u8>) {
    match proto_name(p.0) {
        Cow::Borrowed(name) => string(name, buf),
        Cow::Owned(_) => int(p.0, buf),
    }
}

fn ip(a: IpText, buf: &mut Vec<u8>) {
    let mut text = [0u8; IpText::MAX_LEN];
    let n = a.render_ascii(&mut text);
    buf.push(b'"');
    buf.extend_from_slice(&text[..n]);
    buf.push(b'"');
}

fn flags(f: Flags, buf: &mut Vec<u8>) {
    buf.push(b'"');
    for (i, letter) in b"FSRPAUEC".iter().enumerate() {
        if f.0 & (1 << i) != 0 {
            buf.push(*letter);
        }
    }
    buf.push(b'"');
}

fn counts(c: [u32; 3], buf: &mut Vec<u8>) {
    buf.push(b'[');
    int(c[0], buf);
    buf.push(b',');
    int(c[1], buf);
    buf.push(b',');
    int(c[2], buf);
    buf.push(b']');
}

fn dir(d: &DirCount, buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"{\"packets\":");
    int(d.packets, buf);
    buf.extend_from_slice(b",\"bytes\":");
    int(d.bytes, buf);
    buf.extend_from_slice(b",\"captured_bytes\":");
    int(d.captured_bytes, buf);
    buf.push(b'}');
}

fn opt_ts(t: Option<Timestamp>, buf: &mut Vec<u8>) {
    match t {
        Some(t) => {
            let mut text = [0u8; 30];
            let n = t.render_ascii(&mut text);
            buf.push(b'"');
            buf.extend_from_slice(&text[..n]);
            buf.push(b'"');
        }
        None => buf.extend_from_slice(b"null"),
    }
}

/// Integers through `itoa`, which is what `serde_json` uses for them.
fn int(v: impl itoa::Integer, buf: &mut Vec<u8>) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn opt_int(v: Option<u16>, buf: &mut Vec<u8>) {
    match v {
        Some(v) => int(v, buf),
        None => buf.extend_from_slice(b"null"),
    }
}

/// A float through `serde_json`'s own formatter, so that the digits cannot differ; NaN and
/// infinities become `null`, as `serde_json` writes them.
fn opt_f64(v: Option<f64>, buf: &mut Vec<u8>) -> io::Result<()> {
    match v {
        Some(v) if super::time::write_secs(v, b".0", buf) => Ok(()),
        Some(v) if v.is_finite() => CompactFormatter.write_f64(buf, v),
        _ => {
            buf.extend_from_slice(b"null");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;
    use crate::filter::{FilterSet, FilterSpec};
    use crate::report::{self, DirCount};

    /// Asserts that the hand-written bytes of `row` equal `serde_json`'s.
    fn check(row: &FlowRow) {
        let mut mine = Vec::new();
        flow_row(row, &mut mine).unwrap();
        let theirs = serde_json::to_vec(row).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&mine),
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
    /// counters, timestamps and durations (negative, tiny, huge, non-finite).
    #[test]
    fn made_up_rows_match_serde_json() {
        let floats = [
            None,
            Some(0.0),
            Some(-0.0),
            Some(8.119),
            Some(0.0001),
            Some(1e-9),
            Some(-1.5e-9),
            Some(1e21),
            Some(123_456_789.123_456_79),
            Some(-9.223_372_036_854_776e9),
            Some(f64::MAX),
            Some(f64::MIN_POSITIVE),
            Some(5e-324),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
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
                    syn_fin_rst_out: [0, 1, u32::MAX],
                    syn_fin_rst_in: [xorshift(&mut x) as u32, 7, 0],
                    syn_to_synack_s: floats[r(&mut x, floats.len())],
                    synack_to_ack_s: floats[r(&mut x, floats.len())],
                    handshake_rtt_s: floats[r(&mut x, floats.len())],
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
                    duration_s: floats[r(&mut x, floats.len())],
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
            let d = Some(ns as f64 / 1e9);
            let mut mine = Vec::new();
            opt_f64(d, &mut mine).unwrap();
            assert_eq!(mine, serde_json::to_vec(&d).unwrap(), "{ns}");
        }
    }
}
