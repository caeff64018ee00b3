//! nwcap: Azure Network Watcher packet captures from the command line.
//!
//! The analysis layers (`capture`, `decode`, `filter`, `flow`, `analysis`, `report`) are pure
//! and know nothing of Azure (`input` and `window` bring them the bytes of local files); `azure` talks to Resource Manager and Blob Storage and knows
//! nothing of packets; `commands` glues them to the CLI.

pub mod addr_sums;
pub mod addr_table;
pub mod analysis;
pub mod azure;
pub mod capture;
pub mod cli;
pub mod commands;
pub mod decode;
pub mod exit;
pub mod filter;
pub mod flow;
pub mod hint;
pub mod input;
pub mod report;
pub mod streamed;
pub mod window;
