//! CSV (and TSV): one flow per row, with a header. Only the names and details read from the
//! payload (server names, hosts, paths, DNS names, SSH lines) can hold a separator or a
//! quote: those are quoted in CSV (RFC 4180) and have tabs and line breaks turned into spaces
//! in TSV; every other field (addresses, numbers, RFC 3339 times, state codes) needs neither. Fields are written by hand
//! rather than through `write!`: a large report has hundreds of thousands of rows, and the
//! formatting machinery was most of their cost. Seconds outside [`Secs::exact`]'s range alone
//! still go through `Display`, whose exact digits are the format. It owns the columns and
//! their text; it never decides what a row says.

use std::borrow::Cow;
use std::io;

use super::chunk::{Chunk, Row};
use super::model::MAX_ICMP_ERRORS;
use super::{Flags, FlowNames, FlowRow, HealthRow, IpText, Secs, TcpRow};
use crate::decode::proto_name;

/// The header: [`BASE`], then with `--inspect` [`NAMES`].
pub(super) fn header(inspected: bool) -> String {
    if inspected {
        format!("{BASE},{NAMES}")
    } else {
        BASE.to_string()
    }
}

const BASE: &str = "protocol,protocol_number,local_ip,local_port,remote_ip,remote_port,icmp_id,\
out_packets,out_bytes,out_captured_bytes,in_packets,in_bytes,in_captured_bytes,\
first_ts,last_ts,duration_s,tcp_initiator,tcp_state,tcp_flags_out,tcp_flags_in,handshake_rtt_s,\
community_id,\
tcp_retrans_out,tcp_retrans_in,tcp_retrans_bytes_out,tcp_retrans_bytes_in,\
tcp_fast_retrans_out,tcp_fast_retrans_in,tcp_out_of_order_out,tcp_out_of_order_in,\
tcp_dup_acks_out,tcp_dup_acks_in,tcp_zero_windows_out,tcp_zero_windows_in,\
tcp_keep_alives_out,tcp_keep_alives_in,tcp_syn_retrans_out,tcp_syn_retrans_in,\
tcp_first_rst_out_s,tcp_first_rst_in_s,tcp_mss_out,tcp_mss_in,\
tcp_window_scale_out,tcp_window_scale_in,tcp_sack_permitted_out,tcp_sack_permitted_in,\
tcp_window_full_out,tcp_window_full_in,tcp_df_over_mss_out,tcp_df_over_mss_in,\
tcp_ack_rtt_samples_out,tcp_ack_rtt_samples_in,tcp_ack_rtt_median_s_out,tcp_ack_rtt_median_s_in,\
tcp_ack_rtt_max_s_out,tcp_ack_rtt_max_s_in,\
icmp_type,icmp_code,icmp_error_count,icmp_errors";

const NAMES: &str = "service,service_by_port,remote_name,sni,tls_version,alpn,quic_version,\
http_method,http_host,http_path,http_status,dns_query,dns_qtype,dns_rcode,dns_answers,\
ssh_client,ssh_server,rdp_cookie";

/// Appends one flow's row (with its newline) to `chunk`, fields separated by `sep` (`,` for
/// CSV, a tab for TSV).
pub(super) fn row(f: &FlowRow, chunk: &mut Chunk, sep: u8) -> io::Result<()> {
    chunk.write_row(|r| write_row(f, r, sep));
    // What `--inspect` found comes from the wire: no length bound a row could take.
    if let Some(n) = &f.names {
        let mut rest = Vec::with_capacity(64);
        app_fields(n, &mut rest, sep);
        rest.push(b'\n');
        chunk.extend(&rest);
    }
    Ok(())
}

fn write_row(f: &FlowRow, r: &mut Row, sep: u8) {
    let sep = &[sep];
    match proto_name(f.protocol.0) {
        Cow::Borrowed(name) => r.bytes(name.as_bytes()),
        Cow::Owned(_) => {
            r.int(f.protocol.0);
        }
    }
    r.bytes(sep);
    r.int(f.protocol_number);
    r.bytes(sep);
    ip(f.local_ip, r);
    r.bytes(sep);
    opt_int(f.local_port, r);
    r.bytes(sep);
    ip(f.remote_ip, r);
    r.bytes(sep);
    opt_int(f.remote_port, r);
    r.bytes(sep);
    opt_int(f.icmp_id, r);
    for d in [&f.out, &f.inbound] {
        for v in [d.packets, d.bytes, d.captured_bytes] {
            r.bytes(sep);
            r.int(v);
        }
    }
    for t in [f.first_ts, f.last_ts] {
        r.bytes(sep);
        if let Some(t) = t {
            let n = t.render_ascii(r.room());
            r.advance(n);
        }
    }
    r.bytes(sep);
    opt_secs(f.duration_s, r);
    let tcp = f.tcp.as_ref();
    r.bytes(sep);
    if let Some(i) = tcp.and_then(|t| t.initiator) {
        r.bytes(i.as_bytes());
    }
    r.bytes(sep);
    if let Some(t) = tcp {
        r.bytes(t.state.as_bytes());
    }
    r.bytes(sep);
    if let Some(t) = tcp {
        flags(t.flags_out, r);
    }
    r.bytes(sep);
    if let Some(t) = tcp {
        flags(t.flags_in, r);
    }
    r.bytes(sep);
    opt_secs(tcp.and_then(|t| t.handshake_rtt_s), r);
    r.bytes(sep);
    if let Some(c) = &f.community_id {
        r.bytes(c.as_str().as_bytes());
    }
    match tcp {
        Some(t) => health(t, r, sep),
        // The TCP columns, empty.
        None => {
            for _ in 0..34 {
                r.bytes(sep);
            }
        }
    }
    for v in [f.icmp_type, f.icmp_code] {
        r.bytes(sep);
        if let Some(v) = v {
            r.int(v);
        }
    }
    r.bytes(sep);
    r.int(f.icmp_error_count);
    r.bytes(sep);
    // `TYPE/CODE:COUNT` kinds, `;`-separated.
    for (n, e) in f.icmp_errors.iter().take(MAX_ICMP_ERRORS).enumerate() {
        if n > 0 {
            r.lit(b";");
        }
        r.int(e.kind);
        r.lit(b"/");
        r.int(e.code);
        r.lit(b":");
        r.int(e.count);
    }
    // With names, the line ends after them (see `row`).
    if f.names.is_none() {
        r.lit(b"\n");
    }
}

/// The service, the remote name and the payload's details.
fn app_fields(f: &FlowNames, out: &mut Vec<u8>, sep: u8) {
    let a = f.app.as_ref();
    let tls = a.and_then(|a| a.tls.as_ref());
    let quic = a.and_then(|a| a.quic.as_ref());
    let http = a.and_then(|a| a.http.as_ref());
    let dns = a.and_then(|a| a.dns.as_ref());
    let ssh = a.and_then(|a| a.ssh.as_ref());
    let join = |v: &[Box<str>]| (!v.is_empty()).then(|| v.join(" "));
    let fields: [Option<Cow<'_, str>>; 18] = [
        f.service.map(Cow::Borrowed),
        f.service_by_port
            .map(|b| Cow::Borrowed(if b { "true" } else { "false" })),
        f.remote_name.as_deref().map(Cow::Borrowed),
        tls.and_then(|t| t.sni.as_deref())
            .or_else(|| quic.and_then(|q| q.sni.as_deref()))
            .map(Cow::Borrowed),
        tls.and_then(|t| t.version.or(t.version_offered))
            .map(Cow::Borrowed),
        tls.and_then(|t| {
            t.alpn
                .as_deref()
                .map(str::to_owned)
                .or_else(|| join(&t.alpn_offered))
        })
        .or_else(|| quic.and_then(|q| join(&q.alpn_offered)))
        .map(Cow::Owned),
        quic.and_then(|q| q.version).map(Cow::Borrowed),
        http.and_then(|h| h.method.as_deref()).map(Cow::Borrowed),
        http.and_then(|h| h.host.as_deref()).map(Cow::Borrowed),
        http.and_then(|h| h.path.as_deref()).map(Cow::Borrowed),
        http.and_then(|h| h.status)
            .map(|s| Cow::Owned(s.to_string())),
        dns.and_then(|d| d.queries.first())
            .map(|q| Cow::Borrowed(&*q.name)),
        dns.and_then(|d| d.queries.first())
            .map(|q| Cow::Borrowed(q.qtype.as_str())),
        dns.and_then(|d| d.rcode).map(Cow::Borrowed),
        dns.filter(|d| !d.answers.is_empty()).map(|d| {
            Cow::Owned(
                d.answers
                    .iter()
                    .map(|a| a.data.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        }),
        ssh.and_then(|s| s.client.as_deref()).map(Cow::Borrowed),
        ssh.and_then(|s| s.server.as_deref()).map(Cow::Borrowed),
        a.and_then(|a| a.rdp.as_ref())
            .and_then(|r| r.cookie.as_deref())
            .map(Cow::Borrowed),
    ];
    for v in fields {
        out.push(sep);
        if let Some(v) = v {
            text(&v, out, sep);
        }
    }
}

/// A field read from the wire: quoted in CSV when it holds a comma, quote or line break;
/// in TSV, its tabs and line breaks become spaces.
fn text(v: &str, out: &mut Vec<u8>, sep: u8) {
    if sep == b',' {
        if v.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            out.push(b'"');
            out.extend_from_slice(v.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(v.as_bytes());
        }
    } else if v.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        out.extend_from_slice(v.replace(['\t', '\n', '\r'], " ").as_bytes());
    } else {
        out.extend_from_slice(v.as_bytes());
    }
}

/// The sequence analysis columns of a TCP row.
fn health(t: &TcpRow, r: &mut Row, sep: &[u8]) {
    // Empty, not 0, where sequence analysis did not run (no `--health`).
    let (o, i) = (t.health_out.as_deref(), t.health_in.as_deref());
    let fields: [fn(&HealthRow) -> u64; 8] = [
        |h| h.retransmissions.into(),
        |h| h.retransmitted_bytes,
        |h| h.fast_retransmissions.into(),
        |h| h.out_of_order.into(),
        |h| h.duplicate_acks.into(),
        |h| h.zero_windows.into(),
        |h| h.keep_alives.into(),
        |h| h.syn_retransmissions.into(),
    ];
    for f in fields {
        for h in [o, i] {
            r.bytes(sep);
            if let Some(h) = h {
                r.int(f(h));
            }
        }
    }
    for s in [t.first_rst_out_s, t.first_rst_in_s] {
        r.bytes(sep);
        opt_secs(s, r);
    }
    let (so, si) = (t.syn_options_out.flatten(), t.syn_options_in.flatten());
    for m in [so.and_then(|o| o.mss), si.and_then(|o| o.mss)] {
        r.bytes(sep);
        opt_int(m, r);
    }
    for w in [
        so.and_then(|o| o.window_scale),
        si.and_then(|o| o.window_scale),
    ] {
        r.bytes(sep);
        if let Some(w) = w {
            r.int(w);
        }
    }
    for o in [so, si] {
        r.bytes(sep);
        match o.map(|o| o.sack_permitted) {
            Some(true) => r.lit(b"true"),
            Some(false) => r.lit(b"false"),
            None => {}
        }
    }
    let counts: [fn(&HealthRow) -> u32; 3] =
        [|h| h.window_full, |h| h.df_over_mss, |h| h.ack_rtt_samples];
    for f in counts {
        for h in [o, i] {
            r.bytes(sep);
            if let Some(h) = h {
                r.int(f(h));
            }
        }
    }
    let times: [fn(&HealthRow) -> Option<Secs>; 2] = [|h| h.ack_rtt_median_s, |h| h.ack_rtt_max_s];
    for f in times {
        for h in [o, i] {
            r.bytes(sep);
            opt_secs(h.and_then(f), r);
        }
    }
}

fn ip(a: IpText, r: &mut Row) {
    let n = a.render_ascii(r.room());
    r.advance(n);
}

fn flags(f: Flags, r: &mut Row) {
    let (text, len) = f.letters();
    r.part(text, len);
}

fn opt_int(v: Option<u16>, r: &mut Row) {
    if let Some(v) = v {
        r.int(v);
    }
}

fn opt_secs(v: Option<Secs>, r: &mut Row) {
    match v {
        Some(v) if v.write_exact(b"", r) => {}
        Some(v) => r.bytes(v.to_string().as_bytes()),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;
    use crate::filter::FilterSet;
    use crate::report::{self, DirCount, Proto, Secs, TcpRow, Timestamp};
    use std::io::Write;

    /// The row as it was written with `write!` before the hand-written version: the oracle.
    fn with_fmt(f: &FlowRow) -> Vec<u8> {
        fn opt<T: ToString>(v: Option<T>) -> String {
            v.map(|v| v.to_string()).unwrap_or_default()
        }
        let tcp = f.tcp.as_ref();
        let mut buf = Vec::new();
        writeln!(
            buf,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            f.protocol,
            f.protocol_number,
            f.local_ip,
            opt(f.local_port),
            f.remote_ip,
            opt(f.remote_port),
            opt(f.icmp_id),
            f.out.packets,
            f.out.bytes,
            f.out.captured_bytes,
            f.inbound.packets,
            f.inbound.bytes,
            f.inbound.captured_bytes,
            opt(f.first_ts),
            opt(f.last_ts),
            opt(f.duration_s),
            opt(tcp.and_then(|t| t.initiator)),
            opt(tcp.map(|t| t.state)),
            opt(tcp.map(|t| t.flags_out)),
            opt(tcp.map(|t| t.flags_in)),
            opt(tcp.and_then(|t| t.handshake_rtt_s)),
            opt(f.community_id.as_ref().map(|c| c.as_str())),
        )
        .unwrap();
        buf.pop();
        let mut more: Vec<String> = Vec::new();
        let h = |f: &dyn Fn(&HealthRow) -> u64| {
            [
                tcp.and_then(|t| t.health_out.as_deref())
                    .map(|h| f(h).to_string())
                    .unwrap_or_default(),
                tcp.and_then(|t| t.health_in.as_deref())
                    .map(|h| f(h).to_string())
                    .unwrap_or_default(),
            ]
        };
        more.extend(h(&|h| h.retransmissions.into()));
        more.extend(h(&|h| h.retransmitted_bytes));
        more.extend(h(&|h| h.fast_retransmissions.into()));
        more.extend(h(&|h| h.out_of_order.into()));
        more.extend(h(&|h| h.duplicate_acks.into()));
        more.extend(h(&|h| h.zero_windows.into()));
        more.extend(h(&|h| h.keep_alives.into()));
        more.extend(h(&|h| h.syn_retransmissions.into()));
        more.push(opt(tcp.and_then(|t| t.first_rst_out_s)));
        more.push(opt(tcp.and_then(|t| t.first_rst_in_s)));
        let so = tcp.and_then(|t| t.syn_options_out.flatten());
        let si = tcp.and_then(|t| t.syn_options_in.flatten());
        more.push(opt(so.and_then(|o| o.mss)));
        more.push(opt(si.and_then(|o| o.mss)));
        more.push(opt(so.and_then(|o| o.window_scale)));
        more.push(opt(si.and_then(|o| o.window_scale)));
        more.push(opt(so.map(|o| o.sack_permitted)));
        more.push(opt(si.map(|o| o.sack_permitted)));
        more.extend(h(&|h| h.window_full.into()));
        more.extend(h(&|h| h.df_over_mss.into()));
        more.extend(h(&|h| h.ack_rtt_samples.into()));
        for g in [
            (|h: &HealthRow| h.ack_rtt_median_s) as fn(&HealthRow) -> Option<Secs>,
            |h| h.ack_rtt_max_s,
        ] {
            more.push(opt(tcp.and_then(|t| t.health_out.as_deref()).and_then(g)));
            more.push(opt(tcp.and_then(|t| t.health_in.as_deref()).and_then(g)));
        }
        more.push(opt(f.icmp_type));
        more.push(opt(f.icmp_code));
        more.push(f.icmp_error_count.to_string());
        more.push(
            f.icmp_errors
                .iter()
                .map(|e| format!("{}/{}:{}", e.kind, e.code, e.count))
                .collect::<Vec<_>>()
                .join(";"),
        );
        for m in more {
            buf.push(b',');
            buf.extend_from_slice(m.as_bytes());
        }
        buf.push(b'\n');
        buf
    }

    fn check(f: &FlowRow) {
        let mut chunk = Chunk::default();
        row(f, &mut chunk, b',').unwrap();
        let mine = chunk.as_slice().to_vec();
        assert_eq!(
            String::from_utf8_lossy(&mine),
            String::from_utf8_lossy(&with_fmt(f)),
            "{f:?}"
        );
    }

    #[test]
    fn corpus_rows_match_the_formatter() {
        let mut rows = 0;
        for (_, analyzer, _) in report::testing::corpus_analyses() {
            let filters = FilterSet::default();
            let sel = analyzer.select(&filters);
            let r = report::build(&analyzer, &sel, &[], 10, 2);
            for f in r.flows.rows() {
                check(&f);
                rows += 1;
            }
        }
        assert!(rows > 1000, "only {rows} corpus rows");
    }

    #[test]
    fn made_up_rows_match_the_formatter() {
        let extreme = i128::from(i64::MAX) - i128::from(i64::MIN);
        let secs = [
            None,
            Some(Secs(0)),
            Some(Secs(8_119_000_000)),
            Some(Secs(1)),
            Some(Secs(-2_500_000_000)),
            Some(Secs(999_999_999_999_999)),
            Some(Secs(1_000_000_000_000_000)),
            Some(Secs(extreme)),
            Some(Secs(-extreme)),
            Some(Secs(10i128.pow(30))),
        ];
        let v6 = |s: &str| IpText(s.parse::<std::net::IpAddr>().unwrap().into());
        let ips = [
            IpText(Addr::v4([192, 168, 0, 1])),
            v6("2001:db8::1"),
            v6("::ffff:10.0.0.1"),
        ];
        let times = [None, Some(0), Some(-1), Some(i64::MIN), Some(i64::MAX)];
        let mut i = 0usize;
        for p in 0..=255u8 {
            for k in 0..12 {
                i = i
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let pick = |n: usize, salt: usize| (i >> (salt * 5 % 40)) % n;
                let tcp = (k % 3 != 0).then(|| TcpRow {
                    initiator: [None, Some("local"), Some("remote")][pick(3, 1)],
                    state: ["SF", "RSTRH"][pick(2, 2)],
                    flags_out: Flags(i as u8),
                    flags_in: Flags((i >> 8) as u8),
                    syn_fin_rst_out: [1, 2, 3],
                    syn_fin_rst_in: [4, 5, 6],
                    syn_to_synack_s: None,
                    synack_to_ack_s: None,
                    handshake_rtt_s: secs[pick(secs.len(), 3)],
                    ..report::testing::tcp_extras(i)
                });
                check(&FlowRow {
                    protocol: Proto(p),
                    protocol_number: p,
                    local_ip: ips[pick(ips.len(), 4)],
                    local_port: [None, Some(0), Some(u16::MAX)][pick(3, 5)],
                    remote_ip: ips[pick(ips.len(), 6)],
                    remote_port: [None, Some(443)][pick(2, 7)],
                    icmp_id: [None, Some(7)][pick(2, 8)],
                    out: DirCount {
                        packets: u64::MAX,
                        bytes: 0,
                        captured_bytes: i as u64,
                    },
                    inbound: DirCount::default(),
                    first_ts: times[pick(times.len(), 9)].map(Timestamp),
                    last_ts: times[pick(times.len(), 10)].map(Timestamp),
                    duration_s: secs[pick(secs.len(), 11)],
                    tcp,
                    community_id: [
                        None,
                        Some(crate::report::CommunityId(
                            *b"1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
                        )),
                    ][pick(2, 12)],
                    icmp_type: [None, Some(3)][pick(2, 13)],
                    icmp_code: [None, Some(255)][pick(2, 14)],
                    icmp_error_count: [0, u64::MAX][pick(2, 15)],
                    icmp_errors: (0..pick(5, 16))
                        .map(|k| crate::report::IcmpErrorRow {
                            kind: k as u8,
                            code: 4,
                            count: 9,
                        })
                        .collect(),
                    names: None,
                });
            }
        }
    }
}
