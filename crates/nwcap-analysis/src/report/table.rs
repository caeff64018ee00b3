//! Human-readable tables of a built report: inputs, totals, protocols, the top flows and the
//! top talkers. It owns their layout: columns as wide as their widest cell, byte counts in
//! human units, no trailing spaces, and a line no wider than the terminal when one is given
//! (columns dropped, then addresses shortened, in a documented order). It never computes a
//! figure.

use std::io::{self, Write};

use super::ports::PortRow;
use super::{FlowNames, FlowRow, IpText, Report, Secs};

/// How a table column is laid out and when it gives way to a narrow terminal.
#[derive(Clone, Copy)]
pub(super) struct Column {
    header: &'static str,
    /// Right-aligned (numbers) or left-aligned (text).
    right: bool,
    /// Columns give way in ascending order of this, the lowest first; 0 never.
    drop: u8,
    /// The least a long cell may be shortened to (with `…` in its middle); 0 = never shortened.
    shrink_to: usize,
}

pub(super) const fn col(header: &'static str, right: bool, drop: u8, shrink_to: usize) -> Column {
    Column {
        header,
        right,
        drop,
        shrink_to,
    }
}

/// The flows table. Narrower than the terminal first drops the retransmissions and RTTs, then packet
/// counts, then the duration, then the state, and then shortens the addresses.
const FLOW_COLUMNS: [Column; 12] = [
    col("PROTO", false, 0, 0),
    col("LOCAL", false, 0, 21),
    col("REMOTE", false, 0, 21),
    col("PKTS OUT", true, 2, 0),
    col("BYTES OUT", true, 0, 0),
    col("PKTS IN", true, 3, 0),
    col("BYTES IN", true, 0, 0),
    col("DURATION", true, 4, 0),
    col("STATE", false, 5, 0),
    col("RETX OUT/IN", true, 1, 0),
    col("RTT MS", true, 1, 0),
    col("SERVICE/NAME", false, 6, 12),
];

/// The server ports tables.
const PORT_COLUMNS: [Column; 4] = [
    col("PORT", false, 0, 0),
    col("FLOWS", true, 0, 0),
    col("PKTS", true, 0, 0),
    col("BYTES", true, 0, 0),
];

/// The services table: the names give way first.
const SERVICE_COLUMNS: [Column; 4] = [
    col("SERVICE", false, 0, 0),
    col("FLOWS", true, 0, 0),
    col("BYTES", true, 0, 0),
    col("NAMES", false, 1, 16),
];

/// DNS names that failed.
const DNS_COLUMNS: [Column; 5] = [
    col("NAME", false, 0, 24),
    col("TYPE", false, 0, 0),
    col("QUERIES", true, 1, 0),
    col("RCODES", false, 0, 0),
    col("UNANSWERED", true, 2, 0),
];

/// The protocols table: never wider than a terminal.
const PROTOCOL_COLUMNS: [Column; 4] = [
    col("PROTOCOL", false, 0, 0),
    col("PACKETS", true, 0, 0),
    col("BYTES", true, 0, 0),
    col("FLOWS", true, 0, 0),
];

/// The talkers table: packet counts give way first, then the flow count.
const TALKER_COLUMNS: [Column; 7] = [
    col("ADDRESS", false, 0, 21),
    col("PKTS SENT", true, 1, 0),
    col("BYTES SENT", true, 0, 0),
    col("PKTS RECV", true, 2, 0),
    col("BYTES RECV", true, 0, 0),
    col("FLOWS", true, 3, 0),
    col("NAME", false, 4, 16),
];

/// Spaces between columns.
const GAP: usize = 2;

fn endpoint(ip: IpText, p: Option<u16>) -> String {
    match p {
        Some(p) if ip.0.v6 => format!("[{ip}]:{p}"),
        Some(p) => format!("{ip}:{p}"),
        None => ip.to_string(),
    }
}

/// Human units for byte counts (SI, like capinfos).
pub(super) fn human_bytes(b: u64) -> String {
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

/// `s` in at most `w` characters, its middle replaced by `…` when it is longer.
fn shorten(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w || w < 3 {
        return s.to_string();
    }
    let head = (w - 1).div_ceil(2);
    let tail = w - 1 - head;
    let chars: Vec<char> = s.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[n - tail..]);
    out
}

/// Writes `rows` under `columns`' headers, each column as wide as its widest cell, the lines
/// within `width` characters when there is a width: columns with the lowest `drop` go first,
/// then cells are shortened down to their `shrink_to`. No line ends in a space.
pub(super) fn table(
    out: &mut dyn Write,
    columns: &[Column],
    rows: &[Vec<String>],
    width: Option<usize>,
) -> io::Result<()> {
    let len = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| len(&r[i]))
                .chain([len(c.header)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut shown: Vec<bool> = vec![true; columns.len()];
    let total = |widths: &[usize], shown: &[bool]| -> usize {
        let n = shown.iter().filter(|s| **s).count();
        let sum: usize = (0..widths.len())
            .filter(|&i| shown[i])
            .map(|i| widths[i])
            .sum();
        sum + GAP * n.saturating_sub(1)
    };
    if let Some(width) = width {
        let mut order: Vec<usize> = (0..columns.len())
            .filter(|&i| columns[i].drop > 0)
            .collect();
        order.sort_by_key(|&i| columns[i].drop);
        for i in order {
            if total(&widths, &shown) <= width {
                break;
            }
            shown[i] = false;
        }
        // Then the shrinkable columns, the widest first, one character at a time.
        while total(&widths, &shown) > width {
            let Some(i) = (0..columns.len())
                .filter(|&i| {
                    shown[i] && columns[i].shrink_to > 0 && widths[i] > columns[i].shrink_to
                })
                .max_by_key(|&i| widths[i])
            else {
                break;
            };
            widths[i] -= 1;
        }
    }
    let line = |cells: &mut dyn Iterator<Item = String>| -> String {
        let mut l = String::new();
        for (i, cell) in cells.enumerate() {
            if !shown[i] {
                continue;
            }
            if !l.is_empty() {
                l.push_str(&" ".repeat(GAP));
            }
            let cell = shorten(&cell, widths[i]);
            let pad = " ".repeat(widths[i].saturating_sub(len(&cell)));
            if columns[i].right {
                l.push_str(&pad);
                l.push_str(&cell);
            } else {
                l.push_str(&cell);
                l.push_str(&pad);
            }
        }
        l.truncate(l.trim_end().len());
        l
    };
    writeln!(
        out,
        "{}",
        line(&mut columns.iter().map(|c| c.header.to_string()))
    )?;
    for r in rows {
        writeln!(out, "{}", line(&mut r.iter().cloned()))?;
    }
    Ok(())
}

/// Writes summary, protocols, top flows and top talkers, within `width` characters a line
/// when given (a terminal's).
pub(super) fn write(
    r: &Report<'_>,
    top: usize,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let s = &r.summary;
    if !r.findings.is_empty() {
        writeln!(out, "Findings:")?;
        for f in &r.findings {
            for line in wrap(
                &format!("[{}] {}", f.severity, f.summary),
                width.map(|w| w.saturating_sub(2)),
                "    ",
            ) {
                writeln!(out, "  {line}")?;
            }
            if !f.endpoints.is_empty() {
                writeln!(out, "      {}", f.endpoints.join(", "))?;
            }
        }
        writeln!(out)?;
    }
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
            writeln!(out, "  first packet:  {a}")?;
            writeln!(out, "  last packet:   {b}")?;
        }
        if let Some(d) = &f.dropped {
            writeln!(
                out,
                "  dropped:       {} packets (as the interface statistics say)",
                d.packets
            )?;
        }
        if let Some(b) = &f.time_backwards {
            writeln!(
                out,
                "  time back:     {} packets, by up to {} s, the first packet {}",
                b.packets, b.largest_s, b.first_packet
            )?;
        }
        writeln!(out, "  readable:      {:?}", f.readable)?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Total: {} packets, {}, duration {:.3} s",
        s.totals.packets,
        human_bytes(s.totals.bytes),
        s.totals.duration_s.unwrap_or(0.0),
    )?;
    writeln!(
        out,
        "Matched: {} packets, {}",
        r.matched.packets,
        human_bytes(r.matched.bytes)
    )?;
    writeln!(
        out,
        "Local address{}: {}",
        match r.local.source {
            "inferred" => " (inferred)",
            "target" => " (the target's interfaces)",
            _ => "",
        },
        if r.local.addresses.is_empty() {
            "-".to_string()
        } else {
            r.local.addresses.join(", ")
        }
    )?;
    for w in &s.warnings {
        for line in wrap(&format!("warning: {w}"), width, "  ") {
            writeln!(out, "{line}")?;
        }
    }

    let protocols: Vec<Vec<String>> = r
        .protocols
        .iter()
        .map(|p| {
            vec![
                p.protocol.clone(),
                p.packets.to_string(),
                human_bytes(p.bytes),
                p.flows.to_string(),
            ]
        })
        .collect();
    if !protocols.is_empty() {
        writeln!(out)?;
        table(out, &PROTOCOL_COLUMNS, &protocols, width)?;
    }
    super::timeline_view::sparklines(&r.timeline, width, out)?;
    if r.flows.is_empty() {
        // Empty tables say nothing: the warnings above said why (no flow matched the filters,
        // or no packets).
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "Top {} of {} flows by bytes (out = local -> remote)",
        top.min(r.flows.len()),
        r.flows.len()
    )?;
    // RETX and RTT with `--health` only, SERVICE/NAME with `--inspect` only.
    let health = r.flows.health;
    let flows: Vec<Vec<String>> = r
        .flows
        .rows()
        .take(top)
        .map(|f| flow_cells(&f, health))
        .collect();
    let mut columns = FLOW_COLUMNS[..9].to_vec();
    if health {
        columns.extend_from_slice(&FLOW_COLUMNS[9..11]);
    }
    columns.extend(r.services.is_some().then_some(FLOW_COLUMNS[11]));
    table(out, &columns, &flows, width)?;

    write_services(r, width, out)?;

    writeln!(out)?;
    writeln!(out, "Top talkers")?;
    let talkers: Vec<Vec<String>> = r
        .top_talkers
        .iter()
        .map(|t| {
            vec![
                t.address.clone(),
                t.packets_sent.to_string(),
                human_bytes(t.bytes_sent),
                t.packets_received.to_string(),
                human_bytes(t.bytes_received),
                t.flows.to_string(),
                t.name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(out, &TALKER_COLUMNS, &talkers, width)?;
    write_ports(r, width, out)
}

/// The top server ports by bytes, and by flows when that order differs.
fn write_ports(r: &Report<'_>, width: Option<usize>, out: &mut dyn Write) -> io::Result<()> {
    let p = &r.top_ports;
    let cells = |rows: &[PortRow]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|p| {
                vec![
                    format!("{}/{}", p.protocol, p.port),
                    p.flows.to_string(),
                    p.packets.to_string(),
                    human_bytes(p.bytes),
                ]
            })
            .collect()
    };
    if p.by_bytes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Top server ports by bytes")?;
    table(out, &PORT_COLUMNS, &cells(&p.by_bytes), width)?;
    if p.by_flows != p.by_bytes {
        writeln!(out)?;
        writeln!(out, "Top server ports by flows")?;
        table(out, &PORT_COLUMNS, &cells(&p.by_flows), width)?;
    }
    Ok(())
}

/// A flow's cells; its retransmissions with `health`.
fn flow_cells(f: &FlowRow, health: bool) -> Vec<String> {
    let mut cells = vec![
        f.protocol.to_string(),
        endpoint(f.local_ip, f.local_port),
        endpoint(f.remote_ip, f.remote_port),
        f.out.packets.to_string(),
        human_bytes(f.out.bytes),
        f.inbound.packets.to_string(),
        human_bytes(f.inbound.bytes),
        format!("{:.3} s", f.duration_s.map_or(0.0, Secs::as_f64)),
        f.tcp.as_ref().map_or("", |t| t.state).to_string(),
    ];
    if health {
        // Empty for flows that are not TCP.
        let retx = f.tcp.as_ref().and_then(|t| {
            let (o, i) = (t.health_out.as_ref()?, t.health_in.as_ref()?);
            Some(format!("{}/{}", o.retransmissions, i.retransmissions))
        });
        cells.push(retx.unwrap_or_default());
        // The median RTT of the local side's data (the time the remote side took to
        // acknowledge it), in milliseconds.
        let rtt = f.tcp.as_ref().and_then(|t| {
            let m = t.health_out.as_ref()?.ack_rtt_median_s?;
            Some(format!("{:.1}", m.as_f64() * 1e3))
        });
        cells.push(rtt.unwrap_or_default());
    }
    if let Some(n) = &f.names {
        cells.push(service_cell(n));
    }
    cells
}

/// `SERVICE NAME`: a `?` after a service named by its port alone.
fn service_cell(f: &FlowNames) -> String {
    let mut cell = String::new();
    if let Some(s) = f.service {
        cell.push_str(s);
        if f.service_by_port == Some(true) {
            cell.push('?');
        }
    }
    if let Some(n) = &f.remote_name {
        if !cell.is_empty() {
            cell.push(' ');
        }
        cell.push_str(n);
    }
    cell
}

/// The services and, when there was DNS, its totals and failures.
fn write_services(r: &Report<'_>, width: Option<usize>, out: &mut dyn Write) -> io::Result<()> {
    let (Some(services), Some(d)) = (&r.services, &r.dns) else {
        return Ok(());
    };
    if !services.is_empty() {
        writeln!(out)?;
        writeln!(out, "Services (? = named by port only)")?;
        let rows: Vec<Vec<String>> = services
            .iter()
            .map(|s| {
                vec![
                    format!("{}{}", s.service, if s.by_port { "?" } else { "" }),
                    s.flows.to_string(),
                    human_bytes(s.bytes),
                    s.names.join(", "),
                ]
            })
            .collect();
        table(out, &SERVICE_COLUMNS, &rows, width)?;
    }
    if d.queries + d.responses > 0 {
        writeln!(out)?;
        writeln!(
            out,
            "DNS: {} queries, {} responses, {} names, {} failed",
            d.queries,
            d.responses,
            d.names.len(),
            d.failures.len()
        )?;
        if !d.failures.is_empty() {
            let rows: Vec<Vec<String>> = d
                .failures
                .iter()
                .map(|n| {
                    vec![
                        n.name.clone(),
                        n.qtype.clone(),
                        n.queries.to_string(),
                        n.rcodes
                            .iter()
                            .map(|(r, c)| format!("{r} {c}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        n.unanswered.to_string(),
                    ]
                })
                .collect();
            table(out, &DNS_COLUMNS, &rows, width)?;
        }
    }
    Ok(())
}

/// `text` broken at spaces into lines of at most `width` characters (a word longer than that
/// stands alone), continuation lines starting with `indent`; one line without a width.
fn wrap(text: &str, width: Option<usize>, indent: &str) -> Vec<String> {
    let Some(width) = width else {
        return vec![text.to_string()];
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > indent.len() && len + 1 + word.chars().count() > width {
            lines.push(std::mem::replace(&mut line, indent.to_string()));
        } else if !line.is_empty() && line != indent {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flows table with `--health`'s column, without `--inspect`'s.
    fn render(rows: &[Vec<String>], width: Option<usize>) -> String {
        let mut out = Vec::new();
        table(&mut out, &FLOW_COLUMNS[..10], rows, width).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn row(local: &str, remote: &str) -> Vec<String> {
        [
            "TCP", local, remote, "10", "1.5 kB", "12", "300.0 kB", "8.119 s", "SF", "2/0",
        ]
        .map(String::from)
        .to_vec()
    }

    /// Columns as wide as their cells; nothing dropped without a width; no trailing spaces.
    #[test]
    fn columns_fit_their_cells() {
        let t = render(&[row("10.1.0.4:50000", "93.184.216.34:443")], None);
        assert_eq!(
            t,
            "PROTO  LOCAL           REMOTE             PKTS OUT  BYTES OUT  PKTS IN  BYTES IN  DURATION  STATE  RETX OUT/IN\n\
             TCP    10.1.0.4:50000  93.184.216.34:443        10     1.5 kB       12  300.0 kB   8.119 s  SF             2/0\n"
        );
    }

    /// Narrower terminals drop columns in the documented order, then shorten addresses,
    /// and never print a line wider than asked while there is something left to give.
    #[test]
    fn a_narrow_terminal_drops_then_shortens() {
        let rows = [row(
            "[2001:db8:1234:5678:9abc:def0:1234:5678]:50000",
            "[2001:db8::53]:443",
        )];
        let wide = render(&rows, None);
        let width_of = |t: &str| t.lines().map(|l| l.chars().count()).max().unwrap();
        let headers = |t: &str| t.lines().next().unwrap().to_string();
        for w in [200, 120, 100, 90, 80, 70] {
            let t = render(&rows, Some(w));
            assert!(width_of(&t) <= w, "width {w}:\n{t}");
            assert!(t.lines().all(|l| !l.ends_with(' ')), "{t}");
            assert!(headers(&t).contains("BYTES OUT") && headers(&t).contains("BYTES IN"));
        }
        assert_eq!(render(&rows, Some(width_of(&wide))), wide);
        let h80 = headers(&render(&rows, Some(80)));
        assert!(
            !h80.contains("PKTS OUT") && !h80.contains("PKTS IN"),
            "{h80}"
        );
        // Narrower than the least it can give: everything droppable gone, addresses short.
        let t60 = render(&rows, Some(60));
        assert!(!headers(&t60).contains("STATE"), "{t60}");
        assert!(t60.contains('…'), "{t60}");
        // PROTO 5, LOCAL shortened to 21, REMOTE 18, BYTES OUT 9, BYTES IN 8, four gaps of 2.
        assert_eq!(width_of(&t60), 5 + 21 + 18 + 9 + 8 + 4 * 2, "{t60}");
    }

    #[test]
    fn warnings_wrap_at_the_width() {
        let text = "warning: local address 2001:db8::53 is a guess: pass --local-ip";
        assert_eq!(super::wrap(text, None, "  "), [text]);
        let lines = super::wrap(text, Some(24), "  ");
        assert_eq!(
            lines,
            [
                "warning: local address",
                "  2001:db8::53 is a",
                "  guess: pass --local-ip"
            ]
        );
        assert_eq!(
            lines
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            text
        );
    }

    #[test]
    fn shortening_keeps_both_ends() {
        assert_eq!(shorten("abcdefghij", 5), "ab…ij");
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("[2001:db8::1]:443", 9), "[200…:443");
    }
}
