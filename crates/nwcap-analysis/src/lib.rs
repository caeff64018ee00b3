//! nwcap's analysis core: from a capture's bytes to the report, with no I/O of its own beyond
//! reading the files it is given.
//!
//! The pipeline, in order: `source` (where the bytes come from: a file read window by window,
//! bytes in memory, or a stream) → `capture` (pcap and pcapng records, borrowed) → `decode`
//! (link, IP, ports) → `flow` (the bidirectional flow table) and `inspect` (what each flow
//! carries, from its first payloads) → `pass` (the per-packet loop,
//! the parallel split and the selection by `filter`) → `report` (the versioned model and its
//! writers). It knows nothing of Azure, async or the command line: its dependencies cannot
//! name them.

pub mod capture;
pub mod decode;
pub mod filter;
pub mod flow;
pub mod hint;
pub mod inspect;
pub mod pass;
pub mod report;
pub mod source;
