//! A TCP flow's connection state in Zeek's terms (`S0`, `SF`, `REJ`, `RSTO`, ...), read from
//! the counters a flow keeps: a fact of the flow, which the report prints. It owns only the
//! classification; it never counts, and never decides which side is local.

use super::stats::FlowStats;
use crate::decode::tcp_flags;

impl FlowStats {
    /// A Zeek-like summary of how a TCP connection went, seen from its originator: `S0`,
    /// `S1`, `SF`, `REJ`, `S2`, `S3`, `RSTO`, `RSTR`, `RSTOS0`, `RSTRH`, `SH`, `SHR` or `OTH`.
    pub fn conn_state(&self) -> &'static str {
        let t = &self.tcp;
        let Some(o) = t.syn_dir.map(usize::from) else {
            // No SYN from anyone: either a SYN-ACK seen from the responder only, or midstream.
            return match t.synack_dir.map(usize::from) {
                Some(r) if t.rst[r] > 0 => "RSTRH",
                Some(r) if t.fin[r] > 0 => "SHR",
                _ => "OTH",
            };
        };
        let r = 1 - o;
        let established = t.handshake().1.is_some() || t.flags[r] & tcp_flags::SYN != 0;
        if !established {
            return if t.rst[r] > 0 {
                "REJ"
            } else if t.rst[o] > 0 {
                "RSTOS0"
            } else if t.fin[o] > 0 {
                "SH"
            } else if self.packets[r] == 0 {
                "S0"
            } else {
                "OTH"
            };
        }
        if t.rst[o] > 0 {
            return "RSTO";
        }
        if t.rst[r] > 0 {
            return "RSTR";
        }
        match (t.fin[o] > 0, t.fin[r] > 0) {
            (true, true) => "SF",
            (true, false) => "S2",
            (false, true) => "S3",
            (false, false) => "S1",
        }
    }
}
