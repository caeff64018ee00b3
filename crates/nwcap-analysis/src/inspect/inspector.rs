//! The [`Inspector`]: per flow, the [`Event`]s of its first [`EXAMINED`] screened packets,
//! a ClientHello's first segments while the rest is awaited, and DNS message counts beyond
//! them; and the merge of a later shard's inspector, equal to one pass. It owns that state;
//! it never screens (`screen`) or parses (`read`) a packet itself.

use std::collections::HashMap;

use super::event::Event;
use super::read::{self, Kind, Read};
use super::{quic, tls};
use crate::flow::PackedKey;

/// Screened packets examined per flow: past them a flow's payload is not parsed again (DNS
/// messages are still counted).
pub const EXAMINED: usize = 8;

/// Bytes of a split ClientHello gathered at most.
const GATHER_MAX: usize = 16 << 10;

/// Packets offered while gathering after which a gathering not yet complete is given up: its
/// flow's next segments did not come (the capture missed them, or ended).
const GATHER_PATIENCE: u64 = 512;

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// What the inspector knows of one flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowApps {
    /// (direction in the key's order, event), one per examined packet, in packet order.
    pub events: Vec<(u8, Event)>,
    /// DNS queries and responses per direction, all of them.
    pub dns_messages: [[u32; 2]; 2],
    /// A ClientHello whose record goes on in the next segments of its direction.
    gather: Option<Box<Gather>>,
    /// A QUIC ClientHello whose CRYPTO data goes on in the next client Initials (browsers
    /// with post-quantum key shares send two).
    crypto: Option<Box<Crypto>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Crypto {
    dir: u8,
    stream: quic::CryptoStream,
}

#[derive(Debug, Clone, Eq)]
struct Gather {
    dir: u8,
    /// [`Inspector::offered`] when it began.
    since: u64,
    /// Bytes the message needs in all.
    need: usize,
    bytes: Vec<u8>,
}

/// What was gathered, not when: `since` reads the clock of the inspector that began it, and a
/// later shard's clock starts at 0.
impl PartialEq for Gather {
    fn eq(&self, o: &Self) -> bool {
        (self.dir, self.need, &self.bytes) == (o.dir, o.need, &o.bytes)
    }
}

/// Payload inspection of every flow, packet by packet in capture order.
#[derive(Debug, Clone, Default)]
pub struct Inspector {
    flows: Map<PackedKey, FlowApps>,
    /// Flows gathering a ClientHello: while any is, every TCP payload is offered.
    gathering: usize,
    /// Packets offered so far, the clock of [`GATHER_PATIENCE`].
    offered: u64,
    /// The flows gathering, oldest first.
    gatherers: Vec<PackedKey>,
    /// Flows whose QUIC ClientHello goes on in a later Initial.
    crypto_pending: usize,
}

impl Inspector {
    /// Whether every TCP payload, screened in or not, should be offered: a ClientHello is
    /// being gathered.
    #[inline(always)]
    pub fn gathering(&self) -> bool {
        self.gathering != 0
    }

    /// Looks at a packet [`super::screen::worth_a_look`] let through (or any TCP payload
    /// while [`Inspector::gathering`]): `dir` is its direction in `key`'s order; `cut` when
    /// the snap length cut the packet (its payload is then never gathered: what follows it
    /// would not follow on).
    #[cold]
    #[inline(never)]
    pub fn offer(
        &mut self,
        key: &PackedKey,
        dir: u8,
        protocol: u8,
        ports: (u16, u16),
        payload: &[u8],
        cut: bool,
    ) {
        let kind = read::kind(protocol, ports, payload);
        if self.gathering != 0 {
            self.offered += 1;
            if let Some(f) = self.flows.get_mut(key) {
                if f.gather.as_ref().is_some_and(|g| g.dir == dir) {
                    if Self::gather(f, dir, payload, cut) {
                        self.gathering -= 1;
                        self.gatherers.retain(|k| k != key);
                    }
                    return;
                }
            }
            self.give_up_late();
        }
        let Some(kind) = kind else {
            return;
        };
        let f = self.flows.entry(*key).or_default();
        if kind == Kind::Dns {
            if let Some(response) = read::dns_direction(payload, protocol) {
                f.dns_messages[usize::from(dir & 1)][usize::from(response)] += 1;
            }
        }
        if f.events.len() >= EXAMINED {
            return;
        }
        if kind == Kind::Quic {
            if let Some(event) = Self::quic(f, dir, payload, &mut self.crypto_pending) {
                f.events.push((dir, event));
                return;
            }
        }
        match read::message(kind, protocol, payload) {
            Read::Event(e) => f.events.push((dir, e)),
            Read::Need(need) if need <= GATHER_MAX && f.gather.is_none() && !cut => {
                f.gather = Some(Box::new(Gather {
                    dir,
                    since: self.offered,
                    need,
                    bytes: payload.to_vec(),
                }));
                self.gathering += 1;
                self.gatherers.push(*key);
            }
            Read::Need(_) => f.events.push((dir, Event::Nothing)),
        }
    }

    /// A client Initial's event, its CRYPTO data added to what the flow's earlier Initials
    /// (in the same direction) carried; `None` when it is no client Initial.
    fn quic(f: &mut FlowApps, dir: u8, payload: &[u8], pending: &mut usize) -> Option<Event> {
        let opened = quic::open_client_initial(payload)?;
        let version = opened.header.version;
        let fresh = || {
            Box::new(Crypto {
                dir,
                stream: quic::CryptoStream::new(),
            })
        };
        let mut c = match f.crypto.take() {
            Some(c) => {
                *pending -= 1;
                if c.dir == dir {
                    c
                } else {
                    fresh()
                }
            }
            None => fresh(),
        };
        c.stream.add_frames(&opened.crypto_frames());
        Some(match c.stream.client_hello() {
            Ok(h) => read::quic_hello(version, &h),
            Err(tls::Need::Bytes(_)) => {
                f.crypto = Some(c);
                *pending += 1;
                Event::Quic { version }
            }
            Err(_) => Event::Quic { version },
        })
    }

    /// Gives up the gatherings older than [`GATHER_PATIENCE`] offered packets: each ends as
    /// an examined packet with nothing read.
    fn give_up_late(&mut self) {
        while let Some(key) = self.gatherers.first().copied() {
            let Some(f) = self.flows.get_mut(&key) else {
                self.gatherers.remove(0);
                continue;
            };
            match &f.gather {
                Some(g) if self.offered - g.since <= GATHER_PATIENCE => return,
                Some(g) => {
                    let dir = g.dir;
                    f.gather = None;
                    f.events.push((dir, Event::Nothing));
                    self.gathering -= 1;
                }
                None => {}
            }
            self.gatherers.remove(0);
        }
    }

    /// Adds a segment to `f`'s gathered ClientHello; parses it once complete (or when the
    /// next segment does not fit). Returns whether the gathering ended.
    fn gather(f: &mut FlowApps, dir: u8, payload: &[u8], cut: bool) -> bool {
        let Some(g) = f.gather.as_mut() else {
            return false;
        };
        g.bytes.extend_from_slice(payload);
        if g.bytes.len() < g.need && !cut {
            return false;
        }
        let event = match read::message(Kind::Tls, crate::decode::proto::TCP, &g.bytes) {
            Read::Event(e) if !cut || g.bytes.len() >= g.need => e,
            _ => Event::Nothing,
        };
        f.gather = None;
        f.events.push((dir, event));
        true
    }

    /// Whether a ClientHello (over TCP, or in QUIC Initials) is still being gathered: a later
    /// shard's packets could end it, so a split file whose earlier shard ends so is read
    /// again in one pass.
    pub fn is_gathering(&self) -> bool {
        self.gathering != 0 || self.crypto_pending != 0
    }

    /// What the inspector knows of a flow.
    pub fn get(&self, key: &PackedKey) -> Option<&FlowApps> {
        self.flows.get(key)
    }

    /// Whether no flow has anything.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Every flow with something.
    pub fn iter(&self) -> impl Iterator<Item = (&PackedKey, &FlowApps)> {
        self.flows.iter()
    }

    /// Adds the inspector of the packets right after this one's: each flow keeps its first
    /// [`EXAMINED`] events over both, as one pass would have. (An earlier shard that ends
    /// while gathering is read again in one pass instead: see [`Inspector::is_gathering`].)
    pub fn merge(&mut self, later: Inspector) {
        for (key, l) in later.flows {
            match self.flows.get_mut(&key) {
                None => {
                    if l.gather.is_some() {
                        self.gathering += 1;
                        self.gatherers.push(key);
                    }
                    self.crypto_pending += usize::from(l.crypto.is_some());
                    self.flows.insert(key, l);
                }
                Some(f) => {
                    let room = EXAMINED.saturating_sub(f.events.len());
                    let fits = l.events.len() < room;
                    f.events.extend(l.events.into_iter().take(room));
                    for d in 0..2 {
                        for r in 0..2 {
                            f.dns_messages[d][r] += l.dns_messages[d][r];
                        }
                    }
                    // A gathering the later shard began counts only if one pass would still
                    // have examined the packet that began it.
                    if f.gather.is_none() && fits {
                        if let Some(g) = l.gather {
                            f.gather = Some(g);
                            self.gathering += 1;
                            self.gatherers.push(key);
                        }
                    }
                    if f.crypto.is_none() && fits {
                        if let Some(c) = l.crypto {
                            f.crypto = Some(c);
                            self.crypto_pending += 1;
                        }
                    }
                }
            }
        }
    }
}
