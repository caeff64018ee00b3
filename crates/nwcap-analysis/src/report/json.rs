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

use super::chunk::{Chunk, Row};
use super::model::MAX_ICMP_ERRORS;
use super::{
    DirCount, Flags, FlowNames, FlowRow, HealthRow, IpText, Proto, Secs, SynOptionsRow, TcpRow,
    Timestamp,
};
use crate::decode::proto_name;

/// Appends one flow as a JSON object (no separator, no newline) to `chunk`. What
/// `--inspect` found follows the fixed-size row, through serde_json: it comes from the wire
/// (escaping needed) and has no length bound a row could take.
pub(super) fn flow_row(f: &FlowRow, chunk: &mut Chunk) -> io::Result<()> {
    chunk.write_row(|r| write_row(f, r))?;
    if let Some(n) = &f.names {
        let mut rest = Vec::with_capacity(128);
        names(n, &mut rest)?;
        rest.push(b'}');
        chunk.extend(&rest);
    }
    Ok(())
}

/// `,"service":…,"app":…` of a flow, as serde writes them.
fn names(n: &FlowNames, out: &mut Vec<u8>) -> io::Result<()> {
    let text = |s: Option<&str>| match s {
        Some(s) => serde_json::to_vec(s),
        None => Ok(b"null".to_vec()),
    };
    out.extend_from_slice(b",\"service\":");
    out.extend(text(n.service)?);
    out.extend_from_slice(b",\"service_by_port\":");
    out.extend(serde_json::to_vec(&n.service_by_port)?);
    out.extend_from_slice(b",\"remote_name\":");
    out.extend(text(n.remote_name.as_deref())?);
    out.extend_from_slice(b",\"remote_name_source\":");
    out.extend(text(n.remote_name_source)?);
    out.extend_from_slice(b",\"app\":");
    out.extend(serde_json::to_vec(&n.app)?);
    Ok(())
}

fn write_row(f: &FlowRow, r: &mut Row) -> io::Result<()> {
    r.lit(b"{\"protocol\":");
    proto(f.protocol, r);
    r.lit(b",\"protocol_number\":");
    r.int(f.protocol_number);
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
    r.lit(b",\"community_id\":");
    match &f.community_id {
        Some(c) => string(c.as_str(), r),
        None => r.lit(b"null"),
    }
    // Nearly every flow: not ICMP, and no ICMP error quotes it.
    if f.icmp_type.is_none()
        && f.icmp_code.is_none()
        && f.icmp_error_count == 0
        && f.icmp_errors.is_empty()
    {
        r.lit(b",\"icmp_type\":null,\"icmp_code\":null,\"icmp_error_count\":0,\"icmp_errors\":[]");
    } else {
        icmp(f, r);
    }
    // With names, the object closes after them (see `flow_row`).
    if f.names.is_none() {
        r.lit(b"}");
    }
    Ok(())
}

/// A flow's ICMP fields.
fn icmp(f: &FlowRow, r: &mut Row) {
    r.lit(b",\"icmp_type\":");
    opt_u8(f.icmp_type, r);
    r.lit(b",\"icmp_code\":");
    opt_u8(f.icmp_code, r);
    r.lit(b",\"icmp_error_count\":");
    r.int(f.icmp_error_count);
    r.lit(b",\"icmp_errors\":[");
    for (n, e) in f.icmp_errors.iter().take(MAX_ICMP_ERRORS).enumerate() {
        if n > 0 {
            r.lit(b",");
        }
        r.lit(b"{\"type\":");
        r.int(e.kind);
        r.lit(b",\"code\":");
        r.int(e.code);
        r.lit(b",\"count\":");
        r.int(e.count);
        r.lit(b"}");
    }
    r.lit(b"]");
}

fn opt_u8(v: Option<u8>, r: &mut Row) {
    match v {
        Some(v) => {
            r.int(v);
        }
        None => r.lit(b"null"),
    }
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
    // Without `--health`, its keys are left out (see `TcpRow`).
    for (key, h) in [
        (&b",\"health_out\":"[..], &t.health_out),
        (b",\"health_in\":", &t.health_in),
    ] {
        if let Some(h) = h {
            r.bytes(key);
            health(h, r)?;
        }
    }
    if t.first_rst_out_s.is_none() && t.first_rst_in_s.is_none() {
        r.lit(b",\"first_rst_out_s\":null,\"first_rst_in_s\":null");
    } else {
        r.lit(b",\"first_rst_out_s\":");
        opt_secs(t.first_rst_out_s, r)?;
        r.lit(b",\"first_rst_in_s\":");
        opt_secs(t.first_rst_in_s, r)?;
    }
    for (key, o) in [
        (&b",\"syn_options_out\":"[..], t.syn_options_out),
        (b",\"syn_options_in\":", t.syn_options_in),
    ] {
        if let Some(o) = o {
            r.bytes(key);
            syn_options(o, r);
        }
    }
    r.lit(b"}");
    Ok(())
}

/// A direction's sequence analysis; often all zeros, one literal.
fn health(h: &HealthRow, r: &mut Row) -> io::Result<()> {
    if *h == HealthRow::default() {
        r.lit(
            b"{\"retransmissions\":0,\"retransmitted_bytes\":0,\"fast_retransmissions\":0,\
\"out_of_order\":0,\"duplicate_acks\":0,\"zero_windows\":0,\"keep_alives\":0,\
\"syn_retransmissions\":0,\"window_full\":0,\"df_over_mss\":0,\"ack_rtt_samples\":0,\
\"ack_rtt_median_s\":null,\"ack_rtt_max_s\":null}",
        );
        return Ok(());
    }
    r.lit(b"{\"retransmissions\":");
    r.int(h.retransmissions);
    r.lit(b",\"retransmitted_bytes\":");
    r.int(h.retransmitted_bytes);
    r.lit(b",\"fast_retransmissions\":");
    r.int(h.fast_retransmissions);
    r.lit(b",\"out_of_order\":");
    r.int(h.out_of_order);
    r.lit(b",\"duplicate_acks\":");
    r.int(h.duplicate_acks);
    r.lit(b",\"zero_windows\":");
    r.int(h.zero_windows);
    r.lit(b",\"keep_alives\":");
    r.int(h.keep_alives);
    r.lit(b",\"syn_retransmissions\":");
    r.int(h.syn_retransmissions);
    r.lit(b",\"window_full\":");
    r.int(h.window_full);
    r.lit(b",\"df_over_mss\":");
    r.int(h.df_over_mss);
    r.lit(b",\"ack_rtt_samples\":");
    r.int(h.ack_rtt_samples);
    r.lit(b",\"ack_rtt_median_s\":");
    opt_secs(h.ack_rtt_median_s, r)?;
    r.lit(b",\"ack_rtt_max_s\":");
    opt_secs(h.ack_rtt_max_s, r)?;
    r.lit(b"}");
    Ok(())
}

fn syn_options(o: Option<SynOptionsRow>, r: &mut Row) {
    let Some(o) = o else {
        r.lit(b"null");
        return;
    };
    r.lit(b"{\"mss\":");
    opt_int(o.mss, r);
    r.lit(b",\"window_scale\":");
    match o.window_scale {
        Some(w) => {
            r.int(w);
        }
        None => r.lit(b"null"),
    }
    if o.sack_permitted {
        r.lit(b",\"sack_permitted\":true}");
    } else {
        r.lit(b",\"sack_permitted\":false}");
    }
}

/// A string that needs no escaping (see the module documentation).
fn string(s: &str, r: &mut Row) {
    r.lit(b"\"");
    r.bytes(s.as_bytes());
    r.lit(b"\"");
}

/// The protocol's name, or its number as text when it has none, as [`Proto`] serializes.
fn proto(p: Proto, r: &mut Row) {
    match proto_name(p.0) {
        Cow::Borrowed(name) => string(name, r),
        Cow::Owned(_) => {
            r.lit(b"\"");
            r.int(p.0);
            r.lit(b"\"");
        }
    }
}

fn ip(a: IpText, r: &mut Row) {
    r.lit(b"\"");
    let n = a.render_ascii(r.room());
    r.advance(n);
    r.lit(b"\"");
}

fn flags(f: Flags, r: &mut Row) {
    let (text, len) = f.letters();
    r.lit(b"\"");
    r.part(text, len);
    r.lit(b"\"");
}

fn counts(c: [u32; 3], r: &mut Row) {
    // Nearly always one digit each (a flow's SYN, FIN and RST segments): the whole array in
    // one 8-byte write, of which 7 are kept.
    if c.iter().all(|&v| v < 10) {
        let text = u64::from_le_bytes(*b"[0,0,0] ")
            + u64::from(c[0]) * (1 << 8)
            + u64::from(c[1]) * (1 << 24)
            + u64::from(c[2]) * (1 << 40);
        r.part(&text.to_le_bytes(), 7);
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
    let (digits, len) = r.int(d.bytes);
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
            r.advance(n);
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
    if !v.write_exact(b".0", r) {
        let mut text = Vec::with_capacity(32);
        CompactFormatter.write_f64(&mut text, v.as_f64())?;
        r.bytes(&text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;
    use crate::filter::{FilterSet, FilterSpec};
    use crate::report::chunk::ROW_SPAN;
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
        for (_, analyzer, facts) in report::testing::corpus_analyses() {
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
                    ..crate::report::testing::tcp_extras(i as usize)
                });
                let row = FlowRow {
                    protocol: Proto(p),
                    protocol_number: p,
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
                    community_id: [
                        None,
                        Some(crate::report::CommunityId(
                            *b"1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
                        )),
                    ][r(&mut x, 2)],
                    icmp_type: [None, Some(0), Some(255)][r(&mut x, 3)],
                    icmp_code: [None, Some(3), Some(255)][r(&mut x, 3)],
                    icmp_error_count: [0, 1, u64::MAX][r(&mut x, 3)],
                    icmp_errors: (0..r(&mut x, 5))
                        .map(|k| crate::report::IcmpErrorRow {
                            kind: 3 + k as u8,
                            code: 255,
                            count: [1, u64::MAX][k % 2],
                        })
                        .collect(),
                    names: [None, Some(names(false)), Some(names(true))][r(&mut x, 3)].clone(),
                };
                check(&row);
                rows += 1;
            }
        }
        assert_eq!(rows, 256 * 40);
    }

    /// What `--inspect` may find, with text that needs escaping (and, when `long`, more
    /// than a fixed-size row holds).
    fn names(long: bool) -> crate::report::FlowNames {
        use crate::inspect::event::AnswerData;
        use crate::report::apps::{AnswerRow, AppRow, DnsRow, HttpRow, QueryRow};
        let answers = (0..if long { 60 } else { 1 })
            .map(|i| AnswerRow {
                name: format!("a{i}.\"quoted\\name\".example").into(),
                rtype: "CNAME".into(),
                ttl: i,
                data: AnswerData::Name("é.example".into()).to_string(),
            })
            .collect();
        crate::report::FlowNames {
            service: Some("dns"),
            service_by_port: Some(false),
            remote_name: Some("tab\there \u{1} \"q\" ü".into()),
            remote_name_source: Some("dns"),
            app: Some(AppRow {
                dns: Some(DnsRow {
                    queries: vec![QueryRow {
                        name: "x.example".into(),
                        qtype: "TYPE65280".into(),
                    }],
                    rcode: Some("NXDOMAIN"),
                    answers,
                    query_count: 3,
                    response_count: 2,
                    unanswered: 1,
                }),
                http: long.then(|| HttpRow {
                    method: Some("GET".into()),
                    host: None,
                    path: Some("/a?b=\"c\"".into()),
                    status: Some(404),
                }),
                ..AppRow::default()
            }),
        }
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
            let mut mine = Chunk::default();
            mine.write_row(|r| opt_secs(Some(Secs(i128::from(ns))), r))
                .unwrap();
            assert_eq!(
                mine.as_slice(),
                serde_json::to_vec(&(ns as f64 / 1e9)).unwrap(),
                "{ns}"
            );
        }
    }

    /// Every field at its widest at once still leaves the row room to spare, in JSON and
    /// in CSV.
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
        let widest_health = crate::report::HealthRow {
            retransmissions: u32::MAX,
            retransmitted_bytes: u64::MAX,
            fast_retransmissions: u32::MAX,
            out_of_order: u32::MAX,
            duplicate_acks: u32::MAX,
            zero_windows: u32::MAX,
            keep_alives: u32::MAX,
            syn_retransmissions: u32::MAX,
            window_full: u32::MAX,
            df_over_mss: u32::MAX,
            ack_rtt_samples: u32::MAX,
            ack_rtt_median_s: f,
            ack_rtt_max_s: f,
        };
        let widest_opts = Some(crate::report::SynOptionsRow {
            mss: Some(u16::MAX),
            window_scale: Some(u8::MAX),
            sack_permitted: false,
        });
        let row = FlowRow {
            protocol: Proto(crate::decode::proto::ICMPV6),
            protocol_number: crate::decode::proto::ICMPV6,
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
                health_out: Some(Box::new(widest_health)),
                health_in: Some(Box::new(widest_health)),
                first_rst_out_s: f,
                first_rst_in_s: f,
                syn_options_out: Some(widest_opts),
                syn_options_in: Some(widest_opts),
            }),
            community_id: Some(crate::report::CommunityId(
                *b"1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            )),
            icmp_type: Some(255),
            icmp_code: Some(255),
            icmp_error_count: u64::MAX,
            icmp_errors: vec![
                crate::report::IcmpErrorRow {
                    kind: 255,
                    code: 255,
                    count: u64::MAX,
                };
                MAX_ICMP_ERRORS
            ],
            // What --inspect adds goes after the fixed-size row (see `flow_row`).
            names: None,
        };
        check(&row);
        let len = serde_json::to_vec(&row).unwrap().len();
        assert!(len + 64 < ROW_SPAN, "{len} bytes");
        // CSV writes fewer fields of the same widths, through the same rows.
        let mut csv = Chunk::default();
        crate::report::csv::row(&row, &mut csv, b',').unwrap();
        let len = csv.as_slice().len();
        assert!((64..ROW_SPAN - 64).contains(&len), "{len} bytes of CSV");
    }
}
