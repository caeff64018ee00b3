//! Command-line shape: global options and one argument struct per subcommand (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::OutputFormat;

/// Azure Network Watcher packet captures: manage, download, analyze.
#[derive(Debug, Parser)]
#[command(name = "nwcap", version, after_help = crate::exit::HELP)]
pub struct Cli {
    /// More detail on stderr (-v, -vv). Secrets are never printed.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Flow statistics of local capture files (pcap or pcapng, `-` for stdin, .gz ok).
    #[command(after_help = crate::exit::HELP)]
    Analyze(AnalyzeArgs),
    /// Download a finished capture's file(s) from Blob Storage: by capture name or blob URL.
    #[command(after_help = crate::exit::HELP)]
    Download(DownloadArgs),
}

/// Network Watcher filter fields; they form one filter, or are added to each `--filter`.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Protocol: TCP, UDP or Any.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Local (VM) address: `10.0.0.4`, `10.0.0.1-10.0.0.9`, `10.0.0.4;10.0.0.5`; IPv6 too.
    #[arg(long)]
    pub local_ip: Option<String>,
    /// Remote address, same syntax.
    #[arg(long)]
    pub remote_ip: Option<String>,
    /// Local port: `80`, `80-120`, `80;443`.
    #[arg(long)]
    pub local_port: Option<String>,
    /// Remote port, same syntax.
    #[arg(long)]
    pub remote_port: Option<String>,
    /// A whole filter, `field=value,...` with Network Watcher field names (protocol,
    /// localIPAddress, remoteIPAddress, localPort, remotePort). Repeat to OR several.
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Filters as Network Watcher JSON (a list of PacketCaptureFilter objects, e.g. a
    /// capture's `filters`), inline or `@file`.
    #[arg(long, value_name = "JSON|@FILE")]
    pub filters_json: Option<String>,
}

/// `nwcap analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files; `-` reads standard input. Several files give one merged report.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,
    /// Rows in the table's flow list and in top talkers.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Write the packets that matched the filters to this capture file (pcap; pcapng when
    /// link types are mixed).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Filters.
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// `nwcap download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Capture name or full resource id (or use --url).
    #[arg(
        value_name = "CAPTURE",
        required_unless_present = "url",
        conflicts_with = "url"
    )]
    pub capture: Option<String>,
    /// Subscription id of the capture.
    #[arg(short = 's', long, env = "AZURE_SUBSCRIPTION_ID")]
    pub subscription: Option<String>,
    /// Resource group of the network watcher.
    #[arg(short = 'g', long, default_value = "NetworkWatcherRG")]
    pub resource_group: String,
    /// Network watcher name (default: NetworkWatcher_<location>).
    #[arg(short = 'w', long)]
    pub watcher: Option<String>,
    /// Region of the network watcher, e.g. westeurope.
    #[arg(long)]
    pub location: Option<String>,
    /// Resource Manager endpoint (sovereign clouds, tests).
    #[arg(long, env = "AZURE_RESOURCE_MANAGER_ENDPOINT", value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// Blob URL to download instead of resolving a capture; may carry a SAS. Repeatable.
    #[arg(long, value_name = "URL")]
    pub url: Vec<String>,
    /// SAS token for the blob(s), e.g. `sv=...&sig=...`; without one nwcap uses Entra ID.
    #[arg(long, value_name = "TOKEN", env = "NWCAP_SAS", hide_env_values = true)]
    pub sas: Option<String>,
    /// Where to save: a folder (existing, or ending in `/`), or a file name for one blob.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,
    /// Concurrent ranged GETs per blob.
    #[arg(long, default_value_t = crate::azure::blob::DEFAULT_PARALLEL, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub parallel: usize,
    /// Bytes per ranged GET, e.g. 8MiB, 512KiB, 4M (64KiB..=256MiB).
    #[arg(long, default_value = "16MiB", value_parser = parse_block_size)]
    pub block_size: usize,
    /// Replace an existing file even when it already holds this blob version.
    #[arg(long)]
    pub force: bool,
    /// How often a broken transfer is resumed before giving up (then rerun to resume).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// No progress bar and no summary lines (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// Entra ID credential when there is no SAS: `auto` (az / azd login) or `token` (a bearer
    /// token for https://storage.azure.com in env NWCAP_ACCESS_TOKEN).
    #[arg(long, value_name = "KIND", default_value = "auto")]
    pub auth: String,
}

/// Parses a byte size with an optional K/M/G suffix (binary: 1K = 1024).
pub fn parse_block_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("not a size: '{s}'"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit in '{s}' (use K, M or G)")),
    };
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("too large: '{s}'"))?;
    if !(64 << 10..=256 << 20).contains(&v) {
        return Err(format!("block size {s} is outside 64KiB..=256MiB"));
    }
    Ok(v)
}
