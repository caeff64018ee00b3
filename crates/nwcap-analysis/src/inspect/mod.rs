//! Pure parsers of application payloads (DNS, HTTP/1.x, SSH, RDP): borrowed views of the bytes, never a copy, never a panic.

pub mod dns;
pub mod http;
pub mod rdp;
pub mod ssh;
