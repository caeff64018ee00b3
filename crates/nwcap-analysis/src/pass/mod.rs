//! The pass over the records: decode each into the flow table ([`Analyzer`]), count each
//! input file ([`FileCounters`]), split one file over threads and merge the shards exactly
//! ([`run_parallel`]), read one [`Input`](crate::source::Input) to its per-file facts
//! ([`read_input`]), select flows by filter and decide the local side ([`Selection`]), and
//! write the selected packets again ([`write_matched`]). Its only reads are through the
//! `source` it is handed; it never opens files and never prints.

mod analyzer;
mod counters;
mod file;
mod parallel;
mod run;
mod select;
mod write;

pub use analyzer::Analyzer;
pub use counters::{Counter, FileCounters, TimeBackwards};
pub use file::{read_input, FileFacts, Readable};
pub use parallel::{run_parallel, Pass, PassError};
pub use run::{run, BATCH};
pub use select::{timeline_classes, LocalSet, Selection};
pub use write::write_matched;
