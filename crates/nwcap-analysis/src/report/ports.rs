//! Top server ports: the selected TCP and UDP flows grouped by protocol and the port of the
//! side that answered, by bytes and by flows, beside the top talkers. It owns that grouping;
//! it never decides which side is local (that is `build::orient`) nor writes a byte.

use std::collections::HashMap;

use serde::Serialize;

use super::build::orient;
use super::text::Proto;
use crate::decode::proto;
#[cfg(test)]
use crate::flow::FlowList;
use crate::flow::{FlowKey, FlowStats};
use crate::pass::LocalSet;

/// The flows and traffic of one server port.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PortRow {
    /// `TCP` or `UDP`.
    pub protocol: Proto,
    /// The port of the side that answered: the SYN's receiver for TCP, else the remote side.
    pub port: u16,
    /// Flows to it.
    pub flows: u64,
    /// Packets both ways.
    pub packets: u64,
    /// Bytes both ways.
    pub bytes: u64,
}

/// The top server ports by bytes and by flows.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct TopPorts {
    /// Most bytes first (then most flows, then protocol and port).
    pub by_bytes: Vec<PortRow>,
    /// Most flows first (then most bytes, then protocol and port).
    pub by_flows: Vec<PortRow>,
}

/// The `top` server ports of `flows`, whose local side `local` decides: [`PortTally`] over
/// every flow.
#[cfg(test)]
pub(super) fn top_ports(flows: &FlowList<'_>, local: &LocalSet<'_>, top: usize) -> TopPorts {
    let mut t = PortTally::default();
    for (k, s) in flows.iter() {
        t.see(&k, s, local);
    }
    t.finish(top)
}

/// The flows, packets and bytes of each server port, fed one flow at a time by whoever sweeps
/// the flows (the report's build feeds the findings from the same read).
#[derive(Default)]
pub(super) struct PortTally {
    by_port: HashMap<(u8, u16), PortRow, foldhash::fast::FixedState>,
}

impl PortTally {
    /// Counts one TCP or UDP flow whose ports were captured, by the port of its server side.
    #[inline]
    pub(super) fn see(&mut self, k: &FlowKey, s: &FlowStats, local: &LocalSet<'_>) {
        if !matches!(k.proto, proto::TCP | proto::UDP) || !k.ports_known {
            return;
        }
        // The side a SYN went to; without one, the remote side.
        let server = match s.tcp.syn_dir {
            Some(i) => 1 - usize::from(i),
            None => 1 - orient(k, s, local).0,
        };
        let port = [k.lo.1, k.hi.1][server];
        let row = self.by_port.entry((k.proto, port)).or_insert(PortRow {
            protocol: Proto(k.proto),
            port,
            flows: 0,
            packets: 0,
            bytes: 0,
        });
        row.flows += 1;
        row.packets += s.packets[0] + s.packets[1];
        row.bytes += s.bytes[0] + s.bytes[1];
    }

    /// Adds the rows of other flows (another part of the same sweep).
    pub(super) fn merge(&mut self, o: PortTally) {
        for (key, r) in o.by_port {
            let row = self.by_port.entry(key).or_insert(PortRow {
                flows: 0,
                packets: 0,
                bytes: 0,
                ..r
            });
            row.flows += r.flows;
            row.packets += r.packets;
            row.bytes += r.bytes;
        }
    }

    /// The `top` ports by bytes and by flows.
    pub(super) fn finish(self, top: usize) -> TopPorts {
        let rows: Vec<PortRow> = self.by_port.into_values().collect();
        let ranked = |key: fn(&PortRow) -> (u64, u64)| {
            let mut r = rows.clone();
            r.sort_by(|a, b| {
                key(b)
                    .cmp(&key(a))
                    .then((a.protocol.0, a.port).cmp(&(b.protocol.0, b.port)))
            });
            r.truncate(top);
            r
        };
        TopPorts {
            by_bytes: ranked(|r| (r.bytes, r.flows)),
            by_flows: ranked(|r| (r.flows, r.bytes)),
        }
    }
}
