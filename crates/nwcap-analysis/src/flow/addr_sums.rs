//! Traffic per IP address, summed over a list of flows: what each address sent and received,
//! in how many flows, and how much of it to itself. One walk of the flows serves both the
//! guess of the local address and the report's top talkers. It only sums; what to make of the
//! sums is the callers'.

use crate::decode::Addr;
use crate::flow::addr_table::AddrTable;
use crate::flow::FlowList;

/// Flows summed a batch at a time: two lookups per flow make the table most of the cost, and
/// [`AddrTable::update`] overlaps the misses of a batch.
const BATCH: usize = 32;

/// What one address did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Packets it sent.
    pub packets_sent: u64,
    /// Bytes it sent.
    pub bytes_sent: u64,
    /// Packets it received.
    pub packets_received: u64,
    /// Bytes it received.
    pub bytes_received: u64,
    /// Flows it is an end of; a flow with itself counts twice, once per end.
    pub flows: u64,
    /// Packets of its flows with itself, which the other fields count once per end.
    pub own_packets: u64,
}

impl Sums {
    /// Packets the address took part in, a packet to itself counted once.
    pub fn packets(&self) -> u64 {
        self.packets_sent + self.packets_received - self.own_packets
    }

    /// Bytes it sent and received.
    pub fn bytes(&self) -> u64 {
        self.bytes_sent + self.bytes_received
    }
}

/// Per-address [`Sums`], in the order the addresses first appear in the flows.
#[derive(Debug, Clone)]
pub struct AddrSums(AddrTable<Sums>);

impl AddrSums {
    /// Sums every flow of `flows` into both of its ends.
    pub fn over(flows: &FlowList<'_>) -> Self {
        // One new remote address per flow is common: about as many addresses as flows.
        let mut table: AddrTable<Sums> = AddrTable::with_capacity(flows.len());
        let mut addrs = [Addr::default(); 2 * BATCH];
        for start in (0..flows.len()).step_by(BATCH) {
            let n = BATCH.min(flows.len() - start);
            for (pair, i) in addrs.chunks_mut(2).zip(start..start + n) {
                let k = flows.key(i);
                pair.copy_from_slice(&[k.lo.0, k.hi.0]);
            }
            table.update(&addrs[..2 * n], |t, i| {
                let s = flows.stats(start + i / 2);
                // The low end sent direction 0, the high end direction 1.
                let (sent, recv) = if i % 2 == 0 { (0, 1) } else { (1, 0) };
                t.packets_sent += s.packets[sent];
                t.bytes_sent += s.bytes[sent];
                t.packets_received += s.packets[recv];
                t.bytes_received += s.bytes[recv];
                t.flows += 1;
                if i % 2 == 0 && addrs[i] == addrs[i + 1] {
                    t.own_packets += s.packets[0] + s.packets[1];
                }
            });
        }
        AddrSums(table)
    }

    /// The address present in the most packets; ties go to the lower address, so that the
    /// choice does not depend on the order of the flows. `None` without flows.
    pub fn busiest(&self) -> Option<Addr> {
        self.0
            .entries()
            .iter()
            .max_by(|a, b| busier(a, b))
            .map(|&(a, _)| a)
    }

    /// The addresses and their sums, in first-seen order.
    pub fn entries(&self) -> &[(Addr, Sums)] {
        self.0.entries()
    }
}

/// Orders addresses by how many packets they took part in, a tie going to the lower address
/// (the greater is the busier): the order [`AddrSums::busiest`] picks by.
pub fn busier(a: &(Addr, Sums), b: &(Addr, Sums)) -> std::cmp::Ordering {
    a.1.packets().cmp(&b.1.packets()).then(b.0.cmp(&a.0))
}
