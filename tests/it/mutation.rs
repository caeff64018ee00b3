//! Random capture bytes for property tests: mutations (overwrite, truncate, or splice), and
//! the magic numbers random bytes can start with to get past format detection.

use proptest::prelude::*;

/// One mutation; positions wrap around the data's length, so any value applies.
#[derive(Debug, Clone)]
pub enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

/// Any mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
    ]
}

/// Applies `muts` to `data`, in order.
pub fn apply(data: &mut Vec<u8>, muts: Vec<Mutation>) {
    for m in muts {
        match m {
            Mutation::Set(i, b) => {
                if !data.is_empty() {
                    let n = data.len();
                    data[i % n] = b;
                }
            }
            Mutation::Truncate(i) => data.truncate(i % (data.len() + 1)),
            Mutation::Insert(i, v) => {
                let at = i % (data.len() + 1);
                data.splice(at..at, v);
            }
        }
    }
}

/// The start of a pcap file (both byte orders, micro- and nanoseconds) or of a pcapng section.
pub fn magic() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0xd4, 0xc3, 0xb2, 0xa1]),
        Just(vec![0xa1, 0xb2, 0x3c, 0x4d]),
        Just(vec![0x34, 0xcd, 0xb2, 0xa1]),
        Just(vec![
            0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a
        ]),
    ]
}
