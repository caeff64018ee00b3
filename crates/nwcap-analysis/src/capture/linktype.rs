//! The link types nwcap knows: one table of LINKTYPE numbers, their names, and whether the
//! decoder reads them.
//!
//! The report's names, the warning about packets counted but not decoded, the decoder's
//! dispatch (`decode::link`) and the fast path's choice (`decode::fast`) all take their
//! numbers and answers from here; a test in `decode::link` holds the dispatch to the table.
//! This module only names numbers: it never reads a packet.

/// LINKTYPE_NULL: BSD loopback, a 4-byte address family in the capturing host's byte order.
pub const NULL: u16 = 0;
/// LINKTYPE_ETHERNET.
pub const ETHERNET: u16 = 1;
/// Raw IP as libpcap's `DLT_RAW` was numbered on most systems, written into files before
/// LINKTYPE_RAW (101) was assigned.
pub const DLT_RAW: u16 = 12;
/// Raw IP as `DLT_RAW` was numbered on OpenBSD, written into files before LINKTYPE_RAW.
pub const DLT_RAW_OPENBSD: u16 = 14;
/// LINKTYPE_RAW: the packet starts at the IP header, version 4 or 6.
pub const RAW: u16 = 101;
/// LINKTYPE_LOOP: OpenBSD loopback, a 4-byte address family in network byte order.
pub const LOOP: u16 = 108;
/// LINKTYPE_LINUX_SLL: Linux cooked capture.
pub const LINUX_SLL: u16 = 113;
/// LINKTYPE_IPV4: raw IPv4.
pub const IPV4: u16 = 228;
/// LINKTYPE_IPV6: raw IPv6.
pub const IPV6: u16 = 229;
/// LINKTYPE_LINUX_SLL2: Linux cooked capture, version 2.
pub const LINUX_SLL2: u16 = 276;

/// One link type of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkType {
    /// The LINKTYPE value, as capture files carry it.
    pub number: u16,
    /// Its name as reports print it.
    pub name: &'static str,
    /// Whether `decode` finds the IP header behind it; packets of other link types are
    /// counted but not decoded.
    pub decoded: bool,
}

/// Every link type nwcap names, in number order.
pub const TABLE: [LinkType; 10] = [
    entry(NULL, "NULL (BSD loopback)", true),
    entry(ETHERNET, "Ethernet", true),
    entry(DLT_RAW, "raw IP (DLT_RAW 12)", true),
    entry(DLT_RAW_OPENBSD, "raw IP (OpenBSD DLT_RAW 14)", true),
    entry(RAW, "raw IP", true),
    entry(LOOP, "LOOP (OpenBSD loopback)", true),
    entry(LINUX_SLL, "Linux cooked (SLL)", true),
    entry(IPV4, "raw IPv4", true),
    entry(IPV6, "raw IPv6", true),
    entry(LINUX_SLL2, "Linux cooked v2 (SLL2)", true),
];

const fn entry(number: u16, name: &'static str, decoded: bool) -> LinkType {
    LinkType {
        number,
        name,
        decoded,
    }
}

/// The table's entry for `lt`, if it has one.
pub fn lookup(lt: u16) -> Option<&'static LinkType> {
    TABLE.iter().find(|e| e.number == lt)
}

/// Whether nwcap decodes packets of link type `lt` (else it counts them only).
pub fn decoded(lt: u16) -> bool {
    lookup(lt).is_some_and(|e| e.decoded)
}

/// Human name of a link type: the table's for one it decodes, else one that ends in
/// "(unsupported)".
pub fn name(lt: u16) -> String {
    match lookup(lt) {
        Some(e) if e.decoded => e.name.into(),
        Some(e) => format!("{} (unsupported)", e.name),
        None => format!("link type {lt} (unsupported)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names as the report printed them before the table, but for 12 and 14, which were
    /// decoded and yet named unsupported.
    #[test]
    fn names() {
        let expect = [
            (0, "NULL (BSD loopback)"),
            (1, "Ethernet"),
            (12, "raw IP (DLT_RAW 12)"),
            (14, "raw IP (OpenBSD DLT_RAW 14)"),
            (101, "raw IP"),
            (108, "LOOP (OpenBSD loopback)"),
            (113, "Linux cooked (SLL)"),
            (228, "raw IPv4"),
            (229, "raw IPv6"),
            (276, "Linux cooked v2 (SLL2)"),
            (182, "link type 182 (unsupported)"),
            (274, "link type 274 (unsupported)"),
            (65535, "link type 65535 (unsupported)"),
        ];
        for (lt, n) in expect {
            assert_eq!(name(lt), n);
            assert_eq!(decoded(lt), !n.ends_with("(unsupported)"), "{lt}");
        }
    }

    #[test]
    fn table_is_sorted_without_repeats() {
        assert!(TABLE.windows(2).all(|w| w[0].number < w[1].number));
    }
}
