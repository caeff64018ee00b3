//! The Network Watcher filters of the command line: `--filter`, `--filters-json` and the
//! single-field flags, combined into filter specs, with usage errors that name the flag.

use anyhow::Context;

use crate::cli::FilterArgs;
use crate::exit;
use nwcap_analysis::filter::{FilterError, FilterSpec};

/// Builds the filter list: each `--filter` (and `--filters-json` entry) with the single-field
/// flags added; the flags alone when there is no `--filter`.
pub fn filter_specs(args: &FilterArgs) -> anyhow::Result<Vec<FilterSpec>> {
    let flags = FilterSpec {
        protocol: args.protocol.clone(),
        local_ip_address: args.local_ip.clone(),
        remote_ip_address: args.remote_ip.clone(),
        local_port: args.local_port.clone(),
        remote_port: args.remote_port.clone(),
    };
    for (flag, field, value) in flag_fields(&flags) {
        if value.trim().is_empty() {
            return Err(exit::usage(anyhow::anyhow!(
                "{flag}: empty value for {field} (leave the flag out to match any)"
            )));
        }
    }
    // Each filter with where it came from, for messages.
    let mut specs = Vec::new();
    for f in &args.filters {
        let spec = FilterSpec::parse_kv(f)
            .with_context(|| format!("--filter '{f}'"))
            .map_err(exit::usage)?;
        specs.push((format!("--filter '{f}'"), spec));
    }
    if let Some(j) = &args.filters_json {
        let text = match j.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read filters file '{path}'"))
                .map_err(exit::usage)?,
            None => j.clone(),
        };
        let list: Vec<FilterSpec> = serde_json::from_str(&text)
            .context("--filters-json: expected a JSON list of filter objects")
            .map_err(exit::usage)?;
        specs.extend(
            (1..)
                .zip(list)
                .map(|(i, f)| (format!("--filters-json entry {i}"), f)),
        );
    }
    if specs.is_empty() {
        if !flags.is_empty() {
            return Ok(vec![flags]);
        }
        return Ok(Vec::new());
    }
    specs
        .into_iter()
        .map(|(origin, s)| {
            s.merge(&flags).map_err(|e| match e {
                FilterError::Duplicate(field) => {
                    let (flag, value) = flag_fields(&flags)
                        .find(|(_, f, _)| *f == field)
                        .map_or(("a flag", ""), |(flag, _, v)| (flag, v));
                    exit::usage(anyhow::anyhow!(
                        "{field} given twice: {flag} {value} and {origin} both set it (a \
                         single-field flag adds its field to every filter)"
                    ))
                }
                e => exit::usage(e),
            })
        })
        .collect()
}

/// The single-field flags that are set: flag name, field name, value.
fn flag_fields(flags: &FilterSpec) -> impl Iterator<Item = (&'static str, &'static str, &str)> {
    [
        ("--protocol", "protocol", &flags.protocol),
        ("--local-ip", "localIPAddress", &flags.local_ip_address),
        ("--remote-ip", "remoteIPAddress", &flags.remote_ip_address),
        ("--local-port", "localPort", &flags.local_port),
        ("--remote-port", "remotePort", &flags.remote_port),
    ]
    .into_iter()
    .filter_map(|(flag, field, v)| Some((flag, field, v.as_deref()?)))
}
