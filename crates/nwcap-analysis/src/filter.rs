//! Network Watcher filter semantics, shared by `analyze` and by capture creation.
//!
//! A filter set keeps a packet when **any** filter matches; a filter matches when **every**
//! field it sets matches. IP and port fields take one value (`10.0.0.1`, `80`), an inclusive
//! range (`10.0.0.1-10.0.0.5`, `80-120`) or a `;`-separated list of either (a trailing `;` is
//! fine). "Local" is the capturing VM: a packet matches when its source fits the local fields
//! and its destination the remote ones, or the other way round. This module parses and matches;
//! it knows nothing of files or HTTP.
//!
//! Offline, nwcap often knows which address is the VM (`--local-ip`, or inferred): matching
//! then uses that orientation only, so `--local-port 443` means "the VM serves 443". Where no
//! side is known, either orientation may match, as the service's rule reads literally.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::decode::{proto, Addr};

/// A filter as Network Watcher spells it (`PacketCaptureFilter` in the REST API): the same
/// field names, values kept as the user wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterSpec {
    /// `TCP`, `UDP` or `Any`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Local (VM) address: single, range or list.
    #[serde(rename = "localIPAddress", skip_serializing_if = "Option::is_none")]
    pub local_ip_address: Option<String>,
    /// Remote address: single, range or list.
    #[serde(rename = "remoteIPAddress", skip_serializing_if = "Option::is_none")]
    pub remote_ip_address: Option<String>,
    /// Local port: single, range or list.
    #[serde(rename = "localPort", skip_serializing_if = "Option::is_none")]
    pub local_port: Option<String>,
    /// Remote port: single, range or list.
    #[serde(rename = "remotePort", skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<String>,
}

/// A filter value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Unknown `key=` in a `--filter` string.
    #[error("unknown filter field '{0}' (expected protocol, localIPAddress, remoteIPAddress, localPort, remotePort)")]
    UnknownField(String),
    /// A `--filter` item without `=`.
    #[error("filter item '{0}' is not of the form field=value")]
    NotKeyValue(String),
    /// The same field twice in one filter.
    #[error("filter field {0} given twice in one filter")]
    Duplicate(&'static str),
    /// An empty `--filter`: it would match every packet and so cancel the other filters.
    #[error("an empty filter matches every packet and would cancel the others: give at least one field=value")]
    Empty,
    /// `field=` with nothing after it.
    #[error("{0}: empty value (leave the field out to match any)")]
    EmptyValue(&'static str),
    /// A bad value for a field.
    #[error("{field}: '{value}' is not {expected}")]
    BadValue {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl FilterSpec {
    /// Parses `field=value,field=value` (field names case-insensitive; `localIP`, `remoteIP`
    /// accepted as short forms).
    pub fn parse_kv(s: &str) -> Result<Self, FilterError> {
        let mut f = FilterSpec::default();
        if s.split(',').all(|i| i.trim().is_empty()) {
            return Err(FilterError::Empty);
        }
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| FilterError::NotKeyValue(item.to_string()))?;
            let (slot, name) = match k.trim().to_ascii_lowercase().as_str() {
                "protocol" => (&mut f.protocol, "protocol"),
                "localipaddress" | "localip" => (&mut f.local_ip_address, "localIPAddress"),
                "remoteipaddress" | "remoteip" => (&mut f.remote_ip_address, "remoteIPAddress"),
                "localport" => (&mut f.local_port, "localPort"),
                "remoteport" => (&mut f.remote_port, "remotePort"),
                _ => return Err(FilterError::UnknownField(k.trim().to_string())),
            };
            if slot.is_some() {
                return Err(FilterError::Duplicate(name));
            }
            if v.trim().is_empty() {
                return Err(FilterError::EmptyValue(name));
            }
            *slot = Some(v.trim().to_string());
        }
        Ok(f)
    }

    /// Fills each unset field from `defaults`; a field set in both is an error.
    pub fn merge(mut self, defaults: &FilterSpec) -> Result<Self, FilterError> {
        let pairs = [
            (&mut self.protocol, &defaults.protocol, "protocol"),
            (
                &mut self.local_ip_address,
                &defaults.local_ip_address,
                "localIPAddress",
            ),
            (
                &mut self.remote_ip_address,
                &defaults.remote_ip_address,
                "remoteIPAddress",
            ),
            (&mut self.local_port, &defaults.local_port, "localPort"),
            (&mut self.remote_port, &defaults.remote_port, "remotePort"),
        ];
        for (slot, default, name) in pairs {
            match (slot.is_some(), default) {
                (true, Some(_)) => return Err(FilterError::Duplicate(name)),
                (false, Some(d)) => *slot = Some(d.clone()),
                _ => {}
            }
        }
        Ok(self)
    }

    /// `true` when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == FilterSpec::default()
    }
}

/// Protocol part of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Any protocol (`Any`, `All`, or unset).
    Any,
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
}

/// A set of inclusive ranges; empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet<T>(pub Vec<(T, T)>);

impl<T: PartialOrd + Copy> RangeSet<T> {
    /// `true` when `v` is in one of the ranges, or when the set is empty.
    #[inline]
    pub fn contains(&self, v: T) -> bool {
        self.0.is_empty() || self.0.iter().any(|&(lo, hi)| lo <= v && v <= hi)
    }

    /// Like `contains`, but an absent value (a port that was not captured) matches only "any".
    #[inline]
    pub fn contains_opt(&self, v: Option<T>) -> bool {
        match v {
            Some(v) => self.contains(v),
            None => self.0.is_empty(),
        }
    }

    /// `true` when nothing is constrained.
    pub fn is_any(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses `a`, `a-b` or `a;b;c-d` with `one` parsing a single value.
fn parse_ranges<T: PartialOrd + Copy>(
    s: &str,
    field: &'static str,
    expected: &'static str,
    one: impl Fn(&str) -> Option<T>,
    same_kind: impl Fn(&T, &T) -> bool,
) -> Result<RangeSet<T>, FilterError> {
    let bad = || FilterError::BadValue {
        field,
        value: s.to_string(),
        expected,
    };
    let mut out = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (
                one(a.trim()).ok_or_else(bad)?,
                one(b.trim()).ok_or_else(bad)?,
            ),
            None => {
                let v = one(part).ok_or_else(bad)?;
                (v, v)
            }
        };
        if !same_kind(&lo, &hi) || lo > hi {
            return Err(bad());
        }
        out.push((lo, hi));
    }
    Ok(RangeSet(out))
}

/// Parses an IP field (IPv4 or IPv6; a range must not mix families).
pub fn parse_ips(s: &str, field: &'static str) -> Result<RangeSet<Addr>, FilterError> {
    parse_ranges(
        s,
        field,
        "an IP address, a range a-b or a list a;b",
        |v| v.parse::<IpAddr>().ok().map(Addr::from),
        |a, b| a.v6 == b.v6,
    )
}

/// Parses a port field.
pub fn parse_ports(s: &str, field: &'static str) -> Result<RangeSet<u16>, FilterError> {
    parse_ranges(
        s,
        field,
        "a port 0-65535, a range a-b or a list a;b",
        |v| v.parse::<u16>().ok(),
        |_, _| true,
    )
}

/// Parses a protocol field.
pub fn parse_protocol(s: &str) -> Result<Protocol, FilterError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "any" | "all" => Ok(Protocol::Any),
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        _ => Err(FilterError::BadValue {
            field: "protocol",
            value: s.to_string(),
            expected: "TCP, UDP or Any",
        }),
    }
}

/// One compiled filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Protocol constraint.
    pub protocol: Protocol,
    /// Local addresses.
    pub local_ip: RangeSet<Addr>,
    /// Remote addresses.
    pub remote_ip: RangeSet<Addr>,
    /// Local ports.
    pub local_port: RangeSet<u16>,
    /// Remote ports.
    pub remote_port: RangeSet<u16>,
}

impl Filter {
    /// Compiles a spec, checking every value.
    pub fn compile(spec: &FilterSpec) -> Result<Self, FilterError> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        Ok(Filter {
            protocol: parse_protocol(&opt(&spec.protocol))?,
            local_ip: parse_ips(&opt(&spec.local_ip_address), "localIPAddress")?,
            remote_ip: parse_ips(&opt(&spec.remote_ip_address), "remoteIPAddress")?,
            local_port: parse_ports(&opt(&spec.local_port), "localPort")?,
            remote_port: parse_ports(&opt(&spec.remote_port), "remotePort")?,
        })
    }

    /// `true` when the filter constrains nothing.
    pub fn is_any(&self) -> bool {
        self.protocol == Protocol::Any
            && self.local_ip.is_any()
            && self.remote_ip.is_any()
            && self.local_port.is_any()
            && self.remote_port.is_any()
    }

    /// Network Watcher matching of a bidirectional flow between `a` and `b` (address, port
    /// when known). A packet of the flow matches exactly when the flow does, in either
    /// direction, so flows can be selected after the pass.
    #[inline]
    pub fn matches_flow(&self, protocol: u8, a: Endpoint, b: Endpoint, side: Side) -> bool {
        match self.protocol {
            Protocol::Any => {}
            Protocol::Tcp if protocol == proto::TCP => {}
            Protocol::Udp if protocol == proto::UDP => {}
            _ => return false,
        }
        let fits = |l: Endpoint, r: Endpoint| {
            self.local_ip.contains(l.0)
                && self.remote_ip.contains(r.0)
                && self.local_port.contains_opt(l.1)
                && self.remote_port.contains_opt(r.1)
        };
        // A filter that names the local address decides the orientation itself.
        match if self.local_ip.is_any() {
            side
        } else {
            Side::Either
        } {
            Side::Either => fits(a, b) || fits(b, a),
            Side::A => fits(a, b),
            Side::B => fits(b, a),
        }
    }
}

/// An address with its port, if known.
pub type Endpoint = (Addr, Option<u16>);

/// Which endpoint of a flow is the capturing VM, when nwcap knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Unknown: either orientation may match (Network Watcher's rule without a local address).
    Either,
    /// The first endpoint is local.
    A,
    /// The second endpoint is local.
    B,
}

/// Filters OR-ed together; empty keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSet {
    filters: Vec<Filter>,
}

impl FilterSet {
    /// Compiles every spec.
    pub fn compile(specs: &[FilterSpec]) -> Result<Self, FilterError> {
        Ok(FilterSet {
            filters: specs
                .iter()
                .map(Filter::compile)
                .collect::<Result<_, _>>()?,
        })
    }

    /// `true` when every packet passes.
    pub fn keeps_all(&self) -> bool {
        self.filters.is_empty() || self.filters.iter().any(Filter::is_any)
    }

    /// Whether a flow passes (see [`Filter::matches_flow`]).
    pub fn matches_flow(&self, protocol: u8, a: Endpoint, b: Endpoint, side: Side) -> bool {
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|f| f.matches_flow(protocol, a, b, side))
    }

    /// Whether a packet without an IP header passes: only when nothing is filtered.
    pub fn matches_non_ip(&self) -> bool {
        self.keeps_all()
    }

    /// The addresses the filters call local, if any filter names them.
    pub fn local_addresses(&self) -> Vec<&RangeSet<Addr>> {
        self.filters
            .iter()
            .map(|f| &f.local_ip)
            .filter(|r| !r.is_any())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: &str, port: Option<u16>) -> Endpoint {
        (ip.parse::<IpAddr>().unwrap().into(), port)
    }

    fn set(specs: &[&str]) -> FilterSet {
        let specs: Vec<_> = specs
            .iter()
            .map(|s| FilterSpec::parse_kv(s).unwrap())
            .collect();
        FilterSet::compile(&specs).unwrap()
    }

    fn m(f: &FilterSet, proto: u8, a: (&str, u16), b: (&str, u16), side: Side) -> bool {
        f.matches_flow(proto, ep(a.0, Some(a.1)), ep(b.0, Some(b.1)), side)
    }

    #[test]
    fn local_remote_both_orientations() {
        let f = set(&["localIPAddress=10.0.0.4,remotePort=443"]);
        for side in [Side::Either, Side::A, Side::B] {
            assert!(m(&f, 6, ("10.0.0.4", 50000), ("1.2.3.4", 443), side));
            assert!(m(&f, 6, ("1.2.3.4", 443), ("10.0.0.4", 50000), side));
            // Port 443 on the local side is not a remote port 443.
            assert!(!m(&f, 6, ("10.0.0.4", 443), ("1.2.3.4", 50000), side));
            assert!(!m(&f, 6, ("10.0.0.5", 50000), ("1.2.3.4", 443), side));
        }
    }

    #[test]
    fn known_local_side_fixes_the_orientation() {
        let f = set(&["localPort=443"]);
        let (vm, peer) = (("10.0.0.4", 50000), ("1.2.3.4", 443));
        assert!(m(&f, 6, vm, peer, Side::Either));
        assert!(!m(&f, 6, vm, peer, Side::A));
        assert!(m(&f, 6, vm, peer, Side::B));
    }

    #[test]
    fn ranges_lists_and_or() {
        let e = Side::Either;
        let f = set(&[
            "protocol=UDP,remotePort=53",
            "remoteIPAddress=10.0.0.1-10.0.0.9",
        ]);
        assert!(m(&f, 17, ("192.168.1.1", 5000), ("8.8.8.8", 53), e));
        assert!(!m(&f, 6, ("192.168.1.1", 5000), ("8.8.8.8", 53), e));
        assert!(m(&f, 6, ("192.168.1.1", 5000), ("10.0.0.9", 80), e));
        assert!(!m(&f, 6, ("192.168.1.1", 5000), ("10.0.0.10", 80), e));
        let p = set(&["remotePort=80;443;8000-8080;"]);
        for port in [80, 443, 8000, 8042, 8080] {
            assert!(
                m(&p, 6, ("1.1.1.1", 1), ("2.2.2.2", port), Side::A),
                "{port}"
            );
        }
        for port in [81, 7999, 8081] {
            assert!(
                !m(&p, 6, ("1.1.1.1", 1), ("2.2.2.2", port), Side::A),
                "{port}"
            );
        }
    }

    #[test]
    fn ipv6_ranges() {
        let f = set(&["localIPAddress=2001:db8::1-2001:db8::ff"]);
        assert!(m(
            &f,
            17,
            ("2001:db8::10", 1),
            ("2001:db8:1::1", 2),
            Side::Either
        ));
        assert!(!m(
            &f,
            17,
            ("2001:db8::100", 1),
            ("2001:db8:1::1", 2),
            Side::Either
        ));
        assert!(FilterSpec::parse_kv("localIP=10.0.0.1-2001:db8::1")
            .map(|s| Filter::compile(&s))
            .unwrap()
            .is_err());
    }

    #[test]
    fn missing_ports_match_only_unconstrained() {
        let (a, b) = (ep("10.0.0.4", None), ep("1.2.3.4", None));
        assert!(set(&["protocol=TCP"]).matches_flow(6, a, b, Side::Either));
        assert!(!set(&["remotePort=0-65535"]).matches_flow(6, a, b, Side::Either));
    }

    #[test]
    fn bad_values_are_named() {
        for (s, needle) in [
            ("remotePort=70000", "remotePort"),
            ("remotePort=90-80", "remotePort"),
            ("localIPAddress=1.1.1.1-255.255.255", "localIPAddress"),
            ("protocol=ICMP", "protocol"),
        ] {
            let e = Filter::compile(&FilterSpec::parse_kv(s).unwrap()).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
        assert!(FilterSpec::parse_kv("port=80").is_err());
        assert!(FilterSpec::parse_kv("remotePort=1,remotePort=2").is_err());
    }
}
