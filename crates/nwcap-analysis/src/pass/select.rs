//! The selection once the pass is over: which addresses are local, and which flows pass the
//! Network Watcher filters. Filters apply to whole flows, because whether a packet matches
//! depends on which address is local, and that may only be known (inferred) at the end. This
//! is the one place the local side is decided.

use super::Analyzer;
use crate::decode::Addr;
use crate::filter::{FilterSet, RangeSet, Side};
use crate::flow::addr_sums::AddrSums;
use crate::flow::timeline::{Classes, IsLocal, Passes};
use crate::flow::{FlowKey, FlowList};
use std::sync::Arc;

impl Analyzer {
    /// Decides which addresses are local and which flows pass the filters.
    pub fn select<'a>(&'a self, filters: &'a FilterSet) -> Selection<'a> {
        self.select_known(filters, &[])
    }

    /// As [`Analyzer::select`], with the capture target's own addresses (its network
    /// interfaces', as the caller found them) taken as local when the filters name none.
    pub fn select_known<'a>(&'a self, filters: &'a FilterSet, target: &'a [Addr]) -> Selection<'a> {
        let mut flows = self.flows.list();
        let given = filters.local_addresses();
        let keeps_all = filters.keeps_all();
        let local = if !given.is_empty() {
            Some(LocalSet::Given(given))
        } else if !target.is_empty() {
            Some(LocalSet::Target(target))
        } else if keeps_all {
            // Left to the report, which sums the traffic of every address anyway.
            None
        } else {
            Some(LocalSet::Inferred(AddrSums::over(&flows).busiest()))
        };
        // Whenever something is filtered, the local side is decided above.
        if let (false, Some(local)) = (keeps_all, &local) {
            flows.retain(|k| {
                let [a, b] = k.endpoints();
                filters.matches_flow(k.proto, a, b, local.side(&a.0, &b.0))
            });
        }
        Selection {
            local,
            flows,
            non_ip: filters.matches_non_ip(),
        }
    }
}

/// How the timeline classes flows so that [`Analyzer::select_known`]'s choices can be made
/// of its sums after the pass (see [`crate::flow::timeline`]): by the local addresses when
/// the filters or the target give them (as `select_known` will), else by the first addresses
/// seen; and by whether each flow passes `filters` with either side local.
pub fn timeline_classes(filters: &FilterSet, target: &[Addr]) -> Classes {
    let given: Vec<RangeSet<Addr>> = filters.local_addresses().into_iter().cloned().collect();
    let is_local: Option<IsLocal> = if !given.is_empty() {
        Some(Arc::new(move |a: &Addr| {
            given.iter().any(|s| s.contains(*a))
        }))
    } else if !target.is_empty() {
        let target = target.to_vec();
        Some(Arc::new(move |a: &Addr| target.contains(a)))
    } else {
        None
    };
    let passes: Option<Passes> = (!filters.keeps_all()).then(|| {
        let filters = filters.clone();
        Arc::new(move |k: &FlowKey| {
            let [a, b] = k.endpoints();
            [Side::Either, Side::A, Side::B].map(|s| filters.matches_flow(k.proto, a, b, s))
        }) as Passes
    });
    Classes::new(is_local, passes)
}

/// The outcome of filtering: the local addresses and the flows that passed.
#[derive(Debug)]
pub struct Selection<'a> {
    /// Which addresses are local. `None` when no filter needed to know and none was given:
    /// every flow is then selected, and the guess waits for [`Selection::local_set`].
    pub(crate) local: Option<LocalSet<'a>>,
    /// Flows that passed the filters.
    pub flows: FlowList<'a>,
    /// Whether packets without IP passed (only when nothing is filtered).
    pub non_ip: bool,
}

impl<'a> Selection<'a> {
    /// Which addresses are local. When the selection left the guess open (nothing filtered,
    /// no local address given), it is `busiest`, the busiest address of every flow
    /// ([`AddrSums::busiest`]'s pick), which the report finds in the sums it adds up for the
    /// top talkers anyway rather than in a walk of its own here.
    pub fn local_set(&self, busiest: impl FnOnce() -> Option<Addr>) -> LocalSet<'a> {
        self.local
            .clone()
            .unwrap_or_else(|| LocalSet::Inferred(busiest()))
    }
}

/// The addresses taken as the capturing VM's.
#[derive(Debug, Clone)]
pub enum LocalSet<'a> {
    /// Named by the filters' `localIPAddress`.
    Given(Vec<&'a RangeSet<Addr>>),
    /// The capture target's network interfaces' addresses.
    Target(&'a [Addr]),
    /// The address present in the most packets of all flows (none when there is no IP
    /// traffic): [`AddrSums::busiest`].
    Inferred(Option<Addr>),
}

impl<'a> LocalSet<'a> {
    /// Whether `a` is local.
    pub fn contains(&self, a: &Addr) -> bool {
        match self {
            LocalSet::Given(sets) => sets.iter().any(|s| s.contains(*a)),
            LocalSet::Target(addrs) => addrs.contains(a),
            LocalSet::Inferred(x) => x.as_ref() == Some(a),
        }
    }

    /// Which of two endpoints is local, when exactly one is.
    pub fn side(&self, a: &Addr, b: &Addr) -> Side {
        match (self.contains(a), self.contains(b)) {
            (true, false) => Side::A,
            (false, true) => Side::B,
            _ => Side::Either,
        }
    }

    /// `true` when guessed rather than given.
    pub fn inferred(&self) -> bool {
        matches!(self, LocalSet::Inferred(_))
    }

    /// Where the addresses came from: `filter`, `target` or `inferred` (the report's
    /// `local.source`).
    pub fn source(&self) -> &'static str {
        match self {
            LocalSet::Given(_) => "filter",
            LocalSet::Target(_) => "target",
            LocalSet::Inferred(_) => "inferred",
        }
    }

    /// The addresses as text (`a-b` for ranges).
    pub fn names(&self) -> Vec<String> {
        match self {
            LocalSet::Given(sets) => sets
                .iter()
                .flat_map(|s| s.0.iter())
                .map(|(lo, hi)| {
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect(),
            LocalSet::Target(addrs) => addrs.iter().map(Addr::to_string).collect(),
            LocalSet::Inferred(x) => x.iter().map(Addr::to_string).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::proto;
    use crate::flow::{FlowKey, Pending, Ts};

    /// `n` packets of a UDP flow between `a` and `b`.
    fn flow(analyzer: &mut Analyzer, a: [u8; 4], b: [u8; 4], n: usize) {
        let key = FlowKey {
            proto: proto::UDP,
            ports_known: true,
            lo: (Addr::v4(a), 53),
            hi: (Addr::v4(b), 53),
            icmp_id: None,
        };
        for i in 0..n {
            analyzer.flows.add(&Pending {
                key: key.pack(),
                dir: (i % 2) as u8,
                tcp_flags: None,
                ts: Ts::new(Some(i as i64)),
                wire: 100,
                cap: 100,
                seg: Default::default(),
            });
        }
    }

    #[test]
    fn the_local_guess_counts_a_flow_with_itself_once() {
        // 10.0.0.1 talks to itself in 10 packets; 10.0.0.2 takes part in 12. Counted twice,
        // the self-flow would win.
        let mut analyzer = Analyzer::new();
        flow(&mut analyzer, [10, 0, 0, 1], [10, 0, 0, 1], 10);
        flow(&mut analyzer, [10, 0, 0, 2], [10, 0, 0, 3], 8);
        flow(&mut analyzer, [10, 0, 0, 2], [10, 0, 0, 4], 4);
        let busiest = |a: &Analyzer| {
            AddrSums::over(&a.flows.list())
                .busiest()
                .map(|x| x.to_string())
        };
        assert_eq!(busiest(&analyzer).as_deref(), Some("10.0.0.2"));
        // Three packets more, and it wins 13 to 12.
        flow(&mut analyzer, [10, 0, 0, 1], [10, 0, 0, 1], 3);
        assert_eq!(busiest(&analyzer).as_deref(), Some("10.0.0.1"));
    }
}
