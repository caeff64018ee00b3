//! Human-readable tables of a built report: inputs, totals, protocols, the top flows and the
//! top talkers. It owns their layout; it never computes a figure.

use std::io::{self, Write};

use super::{FlowRow, IpText, Report, Secs};

fn endpoint(ip: IpText, p: Option<u16>) -> String {
    match p {
        Some(p) if ip.0.v6 => format!("[{ip}]:{p}"),
        Some(p) => format!("{ip}:{p}"),
        None => ip.to_string(),
    }
}

fn proto(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Human units for byte counts (SI, like capinfos).
fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i < U.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// Writes summary, protocols, top flows and top talkers.
pub(super) fn write(r: &Report<'_>, top: usize, out: &mut dyn Write) -> io::Result<()> {
    let s = &r.summary;
    for f in &s.files {
        writeln!(out, "File:            {}", f.path)?;
        writeln!(
            out,
            "  format:        {}",
            f.format.as_deref().unwrap_or("unknown")
        )?;
        let lts: Vec<String> = f.link_types.iter().map(|l| l.name.clone()).collect();
        writeln!(out, "  link types:    {}", lts.join(", "))?;
        writeln!(out, "  snaplen:       {}", f.snaplen)?;
        writeln!(
            out,
            "  packets:       {} ({} truncated), {} on the wire, {} captured",
            f.totals.packets,
            f.totals.truncated_packets,
            human_bytes(f.totals.bytes),
            human_bytes(f.totals.captured_bytes)
        )?;
        if let (Some(a), Some(b)) = (&f.totals.first_ts, &f.totals.last_ts) {
            writeln!(out, "  time:          {a} .. {b}")?;
        }
        writeln!(out, "  readable:      {:?}", f.readable)?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Total: {} packets, {} ({} bytes), duration {:.3} s; matched {} packets, {} bytes",
        s.totals.packets,
        human_bytes(s.totals.bytes),
        s.totals.bytes,
        s.totals.duration_s.unwrap_or(0.0),
        r.matched.packets,
        r.matched.bytes
    )?;
    writeln!(
        out,
        "Local address{}: {}",
        if r.local.inferred { " (inferred)" } else { "" },
        if r.local.addresses.is_empty() {
            "-".to_string()
        } else {
            r.local.addresses.join(", ")
        }
    )?;
    for w in &s.warnings {
        writeln!(out, "warning: {w}")?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:>12} {:>16} {:>8}",
        "PROTOCOL", "PACKETS", "BYTES", "FLOWS"
    )?;
    for p in &r.protocols {
        writeln!(
            out,
            "{:<10} {:>12} {:>16} {:>8}",
            proto(&p.protocol),
            p.packets,
            p.bytes,
            p.flows
        )?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "Top {} of {} flows by bytes (out = local -> remote)",
        top.min(r.flows.len()),
        r.flows.len()
    )?;
    writeln!(
        out,
        "{:<7} {:<45} {:<45} {:>9} {:>12} {:>9} {:>12} {:>10} {:<6}",
        "PROTO",
        "LOCAL",
        "REMOTE",
        "PKTS OUT",
        "BYTES OUT",
        "PKTS IN",
        "BYTES IN",
        "DURATION",
        "STATE"
    )?;
    for f in r.flows.rows().take(top) {
        write_flow(&f, out)?;
    }

    writeln!(out)?;
    writeln!(out, "Top talkers")?;
    writeln!(
        out,
        "{:<40} {:>12} {:>14} {:>12} {:>14} {:>7}",
        "ADDRESS", "PKTS SENT", "BYTES SENT", "PKTS RECV", "BYTES RECV", "FLOWS"
    )?;
    for t in &r.top_talkers {
        writeln!(
            out,
            "{:<40} {:>12} {:>14} {:>12} {:>14} {:>7}",
            t.address, t.packets_sent, t.bytes_sent, t.packets_received, t.bytes_received, t.flows
        )?;
    }
    Ok(())
}

fn write_flow(f: &FlowRow, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<7} {:<45} {:<45} {:>9} {:>12} {:>9} {:>12} {:>10.3} {:<6}",
        f.protocol.to_string(),
        endpoint(f.local_ip, f.local_port),
        endpoint(f.remote_ip, f.remote_port),
        f.out.packets,
        f.out.bytes,
        f.inbound.packets,
        f.inbound.bytes,
        f.duration_s.map_or(0.0, Secs::as_f64),
        f.tcp.as_ref().map_or("", |t| t.state)
    )
}
