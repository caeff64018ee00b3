//! CSV: one flow per row, with a header. No field can hold a comma or quote (addresses,
//! numbers, RFC 3339 times, state codes), so no quoting is needed. Fields are written by hand
//! rather than through `write!`: a large report has hundreds of thousands of rows, and the
//! formatting machinery was most of their cost. Floats alone still go through `Display`, whose
//! exact digits are the format.

use std::borrow::Cow;
use std::io::{self, Write};

use super::chunk::Chunk;
use super::{Flags, FlowRow, IpText, Secs};
use crate::decode::proto_name;

pub(super) const HEADER: &str = "protocol,local_ip,local_port,remote_ip,remote_port,icmp_id,\
out_packets,out_bytes,out_captured_bytes,in_packets,in_bytes,in_captured_bytes,\
first_ts,last_ts,duration_s,tcp_initiator,tcp_state,tcp_flags_out,tcp_flags_in,handshake_rtt_s";

/// Appends one flow's row (with its newline) to `buf`.
pub(super) fn row(f: &FlowRow, buf: &mut Chunk) -> io::Result<()> {
    match proto_name(f.protocol.0) {
        Cow::Borrowed(name) => buf.extend_from_slice(name.as_bytes()),
        Cow::Owned(_) => int(f.protocol.0, buf),
    }
    buf.push(b',');
    ip(f.local_ip, buf);
    buf.push(b',');
    opt_int(f.local_port, buf);
    buf.push(b',');
    ip(f.remote_ip, buf);
    buf.push(b',');
    opt_int(f.remote_port, buf);
    buf.push(b',');
    opt_int(f.icmp_id, buf);
    for d in [&f.out, &f.inbound] {
        for v in [d.packets, d.bytes, d.captured_bytes] {
            buf.push(b',');
            int(v, buf);
        }
    }
    for t in [f.first_ts, f.last_ts] {
        buf.push(b',');
        if let Some(t) = t {
            let mut text = [0u8; 30];
            let n = t.render_ascii(&mut text);
            buf.extend_from_slice(&text[..n]);
        }
    }
    buf.push(b',');
    opt_secs(f.duration_s, buf)?;
    let tcp = f.tcp.as_ref();
    buf.push(b',');
    if let Some(i) = tcp.and_then(|t| t.initiator) {
        buf.extend_from_slice(i.as_bytes());
    }
    buf.push(b',');
    if let Some(t) = tcp {
        buf.extend_from_slice(t.state.as_bytes());
    }
    buf.push(b',');
    if let Some(t) = tcp {
        flags(t.flags_out, buf);
    }
    buf.push(b',');
    if let Some(t) = tcp {
        flags(t.flags_in, buf);
    }
    buf.push(b',');
    opt_secs(tcp.and_then(|t| t.handshake_rtt_s), buf)?;
    buf.push(b'\n');
    Ok(())
}

fn ip(a: IpText, buf: &mut Chunk) {
    let mut text = [0u8; IpText::MAX_LEN];
    let n = a.render_ascii(&mut text);
    buf.extend_from_slice(&text[..n]);
}

fn flags(f: Flags, buf: &mut Chunk) {
    for (i, letter) in b"FSRPAUEC".iter().enumerate() {
        if f.0 & (1 << i) != 0 {
            buf.push(*letter);
        }
    }
}

fn int(v: impl itoa::Integer, buf: &mut Chunk) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn opt_int(v: Option<u16>, buf: &mut Chunk) {
    if let Some(v) = v {
        int(v, buf);
    }
}

fn opt_secs(v: Option<Secs>, buf: &mut Chunk) -> io::Result<()> {
    match v {
        Some(v) if v.write_exact(b"", buf) => Ok(()),
        Some(v) => write!(buf, "{v}"),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;
    use crate::filter::FilterSet;
    use crate::report::{self, DirCount, Proto, Secs, TcpRow, Timestamp};

    /// The row as it was written with `write!` before the hand-written version: the oracle.
    fn with_fmt(f: &FlowRow) -> Vec<u8> {
        fn opt<T: ToString>(v: Option<T>) -> String {
            v.map(|v| v.to_string()).unwrap_or_default()
        }
        let tcp = f.tcp.as_ref();
        let mut buf = Vec::new();
        writeln!(
            buf,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            f.protocol,
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
        )
        .unwrap();
        buf
    }

    fn check(f: &FlowRow) {
        let mut chunk = Chunk::default();
        row(f, &mut chunk).unwrap();
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
        for (_, analyzer, _) in report::corpus_analyses() {
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
                });
                check(&FlowRow {
                    protocol: Proto(p),
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
                });
            }
        }
    }
}
