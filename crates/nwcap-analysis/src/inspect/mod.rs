//! Pure parsers of application payloads (DNS, HTTP/1.x, SSH, RDP): borrowed, bounded, panic-free.

pub mod dns;
pub mod http;
pub mod rdp;
pub mod ssh;
