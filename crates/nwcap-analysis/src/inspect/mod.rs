//! Payload inspection: what each flow is (DNS, TLS, QUIC, HTTP, SSH, RDP) and the names it
//! shows, from the first packets of each flow. A table lookup per packet screens
//! ([`screen`]); what passes is parsed by the protocol modules ([`read`]) into owned
//! [`Event`]s that the [`Inspector`] keeps per flow, at most [`EXAMINED`] a flow. Parsers
//! borrow the packet, never panic and never copy its bytes; nothing here knows of the flow
//! table's counters or the report.

pub mod dns;
pub mod event;
pub mod http;
mod inspector;
pub mod quic;
pub mod rdp;
pub mod read;
pub mod screen;
pub mod ssh;
#[cfg(test)]
mod testing;
pub mod tls;

pub use event::Event;
pub use inspector::{FlowApps, Inspector, EXAMINED};
