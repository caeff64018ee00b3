//! Payload inspection: pure parsers of what application protocols say in their first bytes.
pub mod quic;
pub mod tls;
