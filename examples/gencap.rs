//! Deterministic capture generator for benchmarks (fixed seed, no dependencies).
//!
//! `cargo run --release --example gencap -- KIND SIZE OUT [pcap|pcapng]`
//! - `realistic SIZE_MB`: mixed IPv4/IPv6 (30 %), TCP (80 %, with handshakes and FIN/RST) and
//!   UDP, 10 % VLAN-tagged, ~50 k flows, packet sizes 60–1514 bytes.
//! - `small PACKETS`: that many packets of 60–120 bytes over ~50 k flows.

use std::io::{BufWriter, Write};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic and fast; statistical quality is irrelevant here.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone)]
struct Flow {
    v6: bool,
    tcp: bool,
    vlan: bool,
    client: [u8; 16],
    server: [u8; 16],
    cport: u16,
    sport: u16,
    step: u32,
    len: u32,
    /// Next sequence number of the client and of the server.
    seq: [u32; 2],
}

const FLOWS: usize = 50_000;

fn new_flow(r: &mut Rng, i: usize) -> Flow {
    let v6 = r.below(10) < 3;
    let mut client = [0u8; 16];
    let mut server = [0u8; 16];
    // Local VM plus a few other local hosts; remote peers spread wide.
    if v6 {
        client[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        client[15] = (4 + r.below(4)) as u8;
        server[..2].copy_from_slice(&[0x26, 0x00]);
        server[8..16].copy_from_slice(&r.next().to_be_bytes());
    } else {
        client[..4].copy_from_slice(&[10, 1, 0, (4 + r.below(4)) as u8]);
        server[..4].copy_from_slice(&(r.next() as u32 | 0x0100_0000).to_be_bytes());
    }
    let tcp = r.below(10) < 8;
    let ports = [443u16, 80, 53, 8080, 22, 3389, 5432, 123];
    Flow {
        v6,
        tcp,
        vlan: r.below(10) == 0,
        client,
        server,
        cport: 1024 + (i % 60_000) as u16,
        sport: ports[r.below(ports.len() as u64) as usize],
        step: 0,
        len: 4 + r.below(120) as u32,
        // From the flow's number, not the generator, whose sequence the rest of the file
        // follows.
        seq: [
            (i as u32).wrapping_mul(0x9E37_79B9),
            (i as u32).wrapping_mul(0x85EB_CA6B) ^ 0x5bd1_e995,
        ],
    }
}

fn packet(f: &mut Flow, r: &mut Rng, small: bool, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    let from_client = f.step.is_multiple_of(2) || f.step == 2;
    let last = f.step + 1 >= f.len;
    let (src, dst, sp, dp) = if from_client {
        (f.client, f.server, f.cport, f.sport)
    } else {
        (f.server, f.client, f.sport, f.cport)
    };
    let flags: u8 = match f.step {
        0 => 0x02,
        1 => 0x12,
        _ if last => 0x11,
        _ => 0x18,
    };
    let l4_hdr = if f.tcp { 20 } else { 8 };
    let ip_hdr = if f.v6 { 40 } else { 20 };
    let eth_hdr = if f.vlan { 18 } else { 14 };
    let frame = if small {
        60 + r.below(61) as usize
    } else if f.tcp && f.step < 3 {
        60
    } else {
        match r.below(10) {
            0..=3 => 66 + r.below(100) as usize,
            4..=5 => 200 + r.below(800) as usize,
            _ => 1514,
        }
    };
    let frame = frame.max(eth_hdr + ip_hdr + l4_hdr);
    let payload = frame - eth_hdr - ip_hdr - l4_hdr;
    buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2]);
    if f.vlan {
        buf.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    }
    let l4_len = l4_hdr + payload;
    if f.v6 {
        buf.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        buf.extend_from_slice(&(l4_len as u16).to_be_bytes());
        buf.extend_from_slice(&[if f.tcp { 6 } else { 17 }, 64]);
        buf.extend_from_slice(&src);
        buf.extend_from_slice(&dst);
    } else {
        buf.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        buf.extend_from_slice(&((20 + l4_len) as u16).to_be_bytes());
        buf.extend_from_slice(&[0, 1, 0x40, 0, 64, if f.tcp { 6 } else { 17 }, 0, 0]);
        buf.extend_from_slice(&src[..4]);
        buf.extend_from_slice(&dst[..4]);
    }
    buf.extend_from_slice(&sp.to_be_bytes());
    buf.extend_from_slice(&dp.to_be_bytes());
    if f.tcp {
        // Sequence numbers advance as a real connection's do (SYN and FIN count one), so
        // that sequence analysis sees healthy traffic.
        let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
        let seq = f.seq[me];
        f.seq[me] = seq.wrapping_add(payload as u32 + u32::from(flags & 0x03 != 0));
        buf.extend_from_slice(&seq.to_be_bytes());
        buf.extend_from_slice(&f.seq[peer].to_be_bytes());
        buf.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        buf.extend_from_slice(&(l4_len as u16).to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
    }
    buf.resize(frame, 0);
    last
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: gencap realistic|small SIZE OUT [pcap|pcapng]");
        std::process::exit(2);
    }
    let small = args[1] == "small";
    let amount: u64 = args[2].parse().expect("SIZE");
    let ng = args.get(4).is_some_and(|f| f == "pcapng");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&args[3])?);
    if ng {
        let shb: [u32; 7] = [0x0A0D_0D0A, 28, 0x1A2B_3C4D, 1, u32::MAX, u32::MAX, 28];
        for (i, w) in shb.iter().enumerate() {
            if i == 3 {
                out.write_all(&[1, 0, 0, 0])?;
            } else {
                out.write_all(&w.to_le_bytes())?;
            }
        }
        // IDB: Ethernet, snaplen 0, if_tsresol = 9.
        for w in [1u32, 32, 1, 0] {
            out.write_all(&w.to_le_bytes())?;
        }
        out.write_all(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0])?;
        out.write_all(&32u32.to_le_bytes())?;
    } else {
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0])?;
        out.write_all(&65535u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
    }
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut flows: Vec<Flow> = (0..FLOWS).map(|i| new_flow(&mut r, i)).collect();
    let mut next_id = FLOWS;
    let mut buf = Vec::with_capacity(2048);
    let mut ts: u64 = 1_764_000_000_000_000_000;
    let (mut bytes, mut packets) = (0u64, 0u64);
    let limit_bytes = amount << 20;
    loop {
        if small && packets >= amount || !small && bytes >= limit_bytes {
            break;
        }
        let i = r.below(FLOWS as u64) as usize;
        let done = packet(&mut flows[i], &mut r, small, &mut buf);
        flows[i].step += 1;
        if done {
            flows[i] = new_flow(&mut r, next_id);
            next_id += 1;
        }
        ts += 1 + r.below(20_000);
        let len = buf.len() as u32;
        if ng {
            let padded = (len + 3) & !3;
            let total = 32 + padded;
            let t = ts;
            for w in [6u32, total, 0, (t >> 32) as u32, t as u32, len, len] {
                out.write_all(&w.to_le_bytes())?;
            }
            out.write_all(&buf)?;
            out.write_all(&[0u8; 3][..(padded - len) as usize])?;
            out.write_all(&total.to_le_bytes())?;
            bytes += u64::from(total);
        } else {
            out.write_all(&((ts / 1_000_000_000) as u32).to_le_bytes())?;
            out.write_all(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes())?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(&buf)?;
            bytes += 16 + u64::from(len);
        }
        packets += 1;
    }
    out.flush()?;
    eprintln!("{}: {packets} packets, {bytes} bytes", args[3]);
    Ok(())
}
