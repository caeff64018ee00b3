//! `--write`'s second pass: the packets of the selected flows, written again as a capture.
//! Selection needs the whole pass, so the inputs are walked a second time, from memory. It
//! writes to the writer it is given; it never opens files.

use std::collections::HashSet;
use std::io::{self, Write};

use super::Selection;
use crate::capture::write::CaptureWriter;
use crate::capture::Reader;
use crate::decode::{self, Decoded};
use crate::flow::{FlowKey, Keyer};

/// Writes the packets of `sel`'s flows from `inputs` (each the whole capture, in the order of
/// the first pass) to `out`: as pcap when every input is pcap with one link type, pcapng
/// otherwise.
pub fn write_matched<W: Write>(inputs: &[&[u8]], sel: &Selection<'_>, out: W) -> io::Result<()> {
    let mut linktypes = inputs.iter().map(|data| match Reader::new(data) {
        Ok(Reader::Pcap(r)) => Some(r.linktype()),
        _ => None,
    });
    let first = linktypes.next().flatten();
    let single = first.filter(|lt| linktypes.all(|l| l == Some(*lt)));
    let mut w = match single {
        Some(lt) => CaptureWriter::new_pcap(out, lt)?,
        None => CaptureWriter::new_pcapng(out)?,
    };
    let keys: HashSet<FlowKey> = sel.flows.iter().map(|(k, _)| k).collect();
    for data in inputs {
        let Ok(reader) = Reader::new(data) else {
            continue;
        };
        // A fresh keyer sees the fragments in the same order as the first pass did.
        let mut keyer = Keyer::default();
        for rec in reader.map_while(Result::ok) {
            let keep = match decode::decode(rec.linktype, rec.data) {
                Decoded::Ip(p) => keys.contains(&keyer.key(&p).0),
                Decoded::NonIp(_) => sel.non_ip,
            };
            if keep {
                w.write(&rec)?;
            }
        }
    }
    w.finish()?;
    Ok(())
}
