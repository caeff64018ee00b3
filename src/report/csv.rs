//! CSV: one flow per row, with a header. No field can hold a comma or quote (addresses,
//! numbers, RFC 3339 times, state codes), so no quoting is needed.

use std::io::{self, Write};

use super::FlowRow;

pub(super) const HEADER: &str = "protocol,local_ip,local_port,remote_ip,remote_port,icmp_id,\
out_packets,out_bytes,out_captured_bytes,in_packets,in_bytes,in_captured_bytes,\
first_ts,last_ts,duration_s,tcp_initiator,tcp_state,tcp_flags_out,tcp_flags_in,handshake_rtt_s";

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Appends one flow's row (with its newline) to `buf`.
pub(super) fn row(f: &FlowRow, buf: &mut Vec<u8>) -> io::Result<()> {
    let tcp = f.tcp.as_ref();
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
}
