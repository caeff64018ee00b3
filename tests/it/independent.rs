//! Captures read by an independent implementation, `pcap-parser` (rusticata), to check what
//! nwcap writes without trusting nwcap's own reader.

use pcap_parser::pcapng::Block;

/// One packet as pcap-parser reads it.
#[derive(Debug)]
pub struct Packet {
    pub ts_ns: i64,
    pub wire_len: u32,
    pub linktype: u16,
    pub data: Vec<u8>,
}

/// Every packet of a whole pcap or pcapng file, or why pcap-parser refuses it (including
/// bytes left over after the last record).
pub fn read(bytes: &[u8]) -> Result<Vec<Packet>, String> {
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        return read_pcapng(bytes);
    }
    let (rest, cap) = pcap_parser::parse_pcap(bytes).map_err(|e| format!("pcap: {e:?}"))?;
    if !rest.is_empty() {
        return Err(format!("pcap: {} bytes after the last record", rest.len()));
    }
    let unit = if cap.header.is_nanosecond_precision() {
        1
    } else {
        1000
    };
    Ok(cap
        .blocks
        .iter()
        .map(|b| Packet {
            ts_ns: i64::from(b.ts_sec) * 1_000_000_000 + i64::from(b.ts_usec) * unit,
            wire_len: b.origlen,
            linktype: cap.header.network.0 as u16,
            data: b.data[..b.caplen as usize].to_vec(),
        })
        .collect())
}

fn read_pcapng(bytes: &[u8]) -> Result<Vec<Packet>, String> {
    let (rest, cap) = pcap_parser::parse_pcapng(bytes).map_err(|e| format!("pcapng: {e:?}"))?;
    if !rest.is_empty() {
        return Err(format!("pcapng: {} bytes after the last block", rest.len()));
    }
    let mut out = Vec::new();
    for section in &cap.sections {
        // (link type, ticks per second) of each interface, in order.
        let mut ifaces = Vec::new();
        for block in &section.blocks {
            match block {
                Block::InterfaceDescription(idb) => {
                    let res = idb.ts_resolution().ok_or("pcapng: unreadable if_tsresol")?;
                    ifaces.push((idb.linktype.0 as u16, u128::from(res)));
                }
                Block::EnhancedPacket(epb) => {
                    let (linktype, res) = *ifaces
                        .get(epb.if_id as usize)
                        .ok_or("pcapng: packet of an undeclared interface")?;
                    let ticks = (u128::from(epb.ts_high) << 32) | u128::from(epb.ts_low);
                    let ns = ticks * 1_000_000_000;
                    if ns % res != 0 {
                        return Err(format!(
                            "pcapng: {ticks} ticks of 1/{res} s are no whole ns"
                        ));
                    }
                    out.push(Packet {
                        ts_ns: (ns / res) as i64,
                        wire_len: epb.origlen,
                        linktype,
                        data: epb.data[..epb.caplen as usize].to_vec(),
                    });
                }
                _ => {}
            }
        }
    }
    Ok(out)
}
