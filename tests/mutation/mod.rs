//! Random mutations of capture bytes for property tests: overwrite, truncate, or splice.

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
