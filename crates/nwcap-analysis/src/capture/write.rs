//! Writes records back out as a capture that tshark and tcpdump read: nanosecond pcap when
//! every packet has the same link type, pcapng (one interface per link type) otherwise.
//! The caller supplies the sink; this module opens no files.

use std::io::{self, Write};

use super::Record;

/// Writes records to a sink as pcap (one link type) or pcapng (any link types).
pub struct CaptureWriter<W: Write> {
    out: W,
    kind: Kind,
    packets: u64,
}

enum Kind {
    Pcap(u16),
    /// Interfaces written so far, in order (index = interface id).
    Pcapng(Vec<u16>),
}

impl<W: Write> CaptureWriter<W> {
    /// A writer that emits nanosecond pcap of one link type; the header is written at once so
    /// that an empty selection still gives a valid file.
    pub fn new_pcap(mut out: W, linktype: u16) -> io::Result<Self> {
        let mut hdr = [0u8; 24];
        hdr[0..4].copy_from_slice(&0xA1B2_3C4Du32.to_le_bytes());
        hdr[4..6].copy_from_slice(&2u16.to_le_bytes());
        hdr[6..8].copy_from_slice(&4u16.to_le_bytes());
        hdr[16..20].copy_from_slice(&262_144u32.to_le_bytes());
        hdr[20..24].copy_from_slice(&u32::from(linktype).to_le_bytes());
        out.write_all(&hdr)?;
        Ok(CaptureWriter {
            out,
            kind: Kind::Pcap(linktype),
            packets: 0,
        })
    }

    /// A writer that emits pcapng, adding an interface per link type.
    pub fn new_pcapng(mut out: W) -> io::Result<Self> {
        // Section header: byte-order magic, version 1.0, unknown section length, no options.
        let mut shb = Vec::with_capacity(28);
        shb.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        out.write_all(&shb)?;
        Ok(CaptureWriter {
            out,
            kind: Kind::Pcapng(Vec::new()),
            packets: 0,
        })
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Appends one record.
    pub fn write(&mut self, rec: &Record<'_>) -> io::Result<()> {
        let ts = rec.ts_ns.unwrap_or(0).max(0) as u64;
        let caplen = rec.data.len() as u32;
        match &mut self.kind {
            Kind::Pcap(lt) => {
                if *lt != rec.linktype {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "pcap output holds one link type ({lt}); packet has link type {}",
                            rec.linktype
                        ),
                    ));
                }
                let mut hdr = [0u8; 16];
                hdr[0..4].copy_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
                hdr[4..8].copy_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
                hdr[8..12].copy_from_slice(&caplen.to_le_bytes());
                hdr[12..16].copy_from_slice(&rec.wire_len.to_le_bytes());
                self.out.write_all(&hdr)?;
                self.out.write_all(rec.data)?;
            }
            Kind::Pcapng(ifaces) => {
                let if_id = match ifaces.iter().position(|&l| l == rec.linktype) {
                    Some(i) => i,
                    None => {
                        // IDB with if_tsresol = 9 (nanoseconds).
                        let mut idb = Vec::with_capacity(32);
                        idb.extend_from_slice(&1u32.to_le_bytes());
                        idb.extend_from_slice(&32u32.to_le_bytes());
                        idb.extend_from_slice(&rec.linktype.to_le_bytes());
                        idb.extend_from_slice(&0u16.to_le_bytes());
                        idb.extend_from_slice(&0u32.to_le_bytes());
                        idb.extend_from_slice(&9u16.to_le_bytes());
                        idb.extend_from_slice(&1u16.to_le_bytes());
                        idb.extend_from_slice(&[9, 0, 0, 0]);
                        idb.extend_from_slice(&[0, 0, 0, 0]);
                        idb.extend_from_slice(&32u32.to_le_bytes());
                        self.out.write_all(&idb)?;
                        ifaces.push(rec.linktype);
                        ifaces.len() - 1
                    }
                };
                let padded = (caplen as usize + 3) & !3;
                let total = (32 + padded) as u32;
                let mut hdr = [0u8; 28];
                hdr[0..4].copy_from_slice(&6u32.to_le_bytes());
                hdr[4..8].copy_from_slice(&total.to_le_bytes());
                hdr[8..12].copy_from_slice(&(if_id as u32).to_le_bytes());
                hdr[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
                hdr[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
                hdr[20..24].copy_from_slice(&caplen.to_le_bytes());
                hdr[24..28].copy_from_slice(&rec.wire_len.to_le_bytes());
                self.out.write_all(&hdr)?;
                self.out.write_all(rec.data)?;
                self.out.write_all(&[0u8; 3][..padded - caplen as usize])?;
                self.out.write_all(&total.to_le_bytes())?;
            }
        }
        self.packets += 1;
        Ok(())
    }

    /// Flushes and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
