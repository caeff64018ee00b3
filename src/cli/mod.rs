//! Command-line shape: global options and one argument struct per subcommand (clap derive).

pub mod error;
pub mod help;
mod values;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::azure::arm::{DEFAULT_API_VERSION, DEFAULT_ENDPOINT};
use crate::azure::credential::AuthKind;
use nwcap_analysis::report::OutputFormat;
pub use values::{parse_block_size, parse_duration, parse_interval};

/// Azure Network Watcher packet captures: manage, download, analyze.
#[derive(Debug, Parser)]
#[command(name = "nwcap", version, after_help = crate::exit::help())]
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
    /// Flow statistics of captures: local files (pcap or pcapng, `-` for stdin, .gz ok), or a
    /// capture's files in Blob Storage (--capture, --url), read as they download.
    #[command(after_help = help::after("analyze"))]
    Analyze(Box<AnalyzeArgs>),
    /// Download a finished capture's file(s) from Blob Storage: by capture name or blob URL.
    #[command(after_help = help::after("download"))]
    Download(DownloadArgs),
    /// List the packet captures of a network watcher.
    #[command(after_help = help::after("list"))]
    List(ListArgs),
    /// Show a packet capture's settings as Resource Manager returns them.
    #[command(after_help = help::after("show"))]
    Show(CaptureArgs),
    /// Ask Network Watcher whether a capture is running, stopped or failed, and why.
    #[command(after_help = help::after("status"))]
    Status(CaptureArgs),
    /// Start a packet capture on a VM or a scale set.
    #[command(after_help = help::after("start"))]
    Start(Box<StartArgs>),
    /// Stop a running packet capture (its file is then complete).
    #[command(after_help = help::after("stop"))]
    Stop(CaptureArgs),
    /// Wait until a capture has stopped; the exit code says how it ended.
    #[command(after_help = help::after("wait"))]
    Wait(WaitArgs),
    /// Delete a packet capture resource (and, with --delete-files, its file in storage).
    #[command(after_help = help::after("delete"))]
    Delete(DeleteArgs),
    /// From question to answer: start a capture, stop it after --duration (or Ctrl-C), wait
    /// for its file, analyze it as it downloads, delete the capture.
    #[command(after_help = help::after("capture"))]
    Capture(Box<CaptureRunArgs>),
    /// Print a shell completion script (bash, zsh, fish, powershell) to standard output.
    #[command(after_help = help::after("completions"))]
    Completions(CompletionsArgs),
    /// Print the man page of nwcap, or of one command, to standard output (roff).
    #[command(after_help = help::after("man"))]
    Man(ManArgs),
}

/// `nwcap completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `nwcap man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command (e.g. `analyze`) for its own page; without one, the page of nwcap.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// `-o/--output` of the Resource Manager commands and `download`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArmOutput {
    /// Human-readable table.
    Table,
    /// The resource as Resource Manager returns it (list: an array).
    Json,
    /// The table's rows, tab-separated, without a header (as `az -o tsv`).
    Tsv,
}

/// Which credential to use (`--auth`); converts into the Azure layer's [`AuthKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Auth {
    /// Try, in order: service principal from the environment, workload identity, managed
    /// identity, Azure CLI, Azure Developer CLI; the first that gives a token is used.
    #[default]
    Auto,
    /// Service principal from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    Env,
    /// Workload identity (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`).
    WorkloadIdentity,
    /// Managed identity of the Azure host (VM, App Service, …).
    ManagedIdentity,
    /// The account `az login` signed in.
    AzureCli,
    /// The account `azd auth login` signed in.
    Azd,
    /// The bearer token in `NWCAP_ACCESS_TOKEN`, used as is (e.g. from
    /// `az account get-access-token --query accessToken -o tsv`).
    Token,
}

impl From<Auth> for AuthKind {
    fn from(a: Auth) -> AuthKind {
        match a {
            Auth::Auto => AuthKind::Auto,
            Auth::Env => AuthKind::Env,
            Auth::WorkloadIdentity => AuthKind::WorkloadIdentity,
            Auth::ManagedIdentity => AuthKind::ManagedIdentity,
            Auth::AzureCli => AuthKind::AzureCli,
            Auth::Azd => AuthKind::Azd,
            Auth::Token => AuthKind::Token,
        }
    }
}

/// `analyze --output`; converts into the report's [`OutputFormat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Human-readable tables.
    Table,
    /// One JSON object.
    Json,
    /// One JSON flow per line.
    Ndjson,
    /// One flow per row, with a header.
    Csv,
    /// One flow per row, tab-separated, without a header (the CSV columns; as `az -o tsv`).
    Tsv,
}

impl From<ReportFormat> for OutputFormat {
    fn from(f: ReportFormat) -> OutputFormat {
        match f {
            ReportFormat::Table => OutputFormat::Table,
            ReportFormat::Json => OutputFormat::Json,
            ReportFormat::Ndjson => OutputFormat::Ndjson,
            ReportFormat::Csv => OutputFormat::Csv,
            ReportFormat::Tsv => OutputFormat::Tsv,
        }
    }
}

/// Where captures live and how to reach Resource Manager; shared by the capture commands.
#[derive(Debug, Clone, Args)]
pub struct ArmArgs {
    /// Subscription id.
    #[arg(short = 's', long, env = "AZURE_SUBSCRIPTION_ID", value_name = "ID")]
    pub subscription: Option<String>,
    /// Resource group of the network watcher [default: NetworkWatcherRG].
    #[arg(short = 'g', long, value_name = "NAME")]
    pub resource_group: Option<String>,
    /// Network watcher name (default with --location: `NetworkWatcher_<location>`).
    #[arg(short = 'w', long, value_name = "NAME")]
    pub watcher: Option<String>,
    /// Region of the default watcher (`NetworkWatcher_<location>` in NetworkWatcherRG).
    #[arg(short = 'l', long, value_name = "REGION")]
    pub location: Option<String>,
    /// Credential. `token` uses the bearer token in NWCAP_ACCESS_TOKEN as is
    /// (NWCAP_STORAGE_ACCESS_TOKEN for storage, when set).
    #[arg(long, value_enum, env = "NWCAP_AUTH", default_value_t = Auth::Auto)]
    pub auth: Auth,
    /// Resource Manager endpoint (Azure China, US Government, tests).
    #[arg(long, env = "AZURE_RESOURCE_MANAGER_ENDPOINT", default_value = DEFAULT_ENDPOINT, value_name = "URL")]
    pub arm_endpoint: String,
    /// REST api-version of Microsoft.Network.
    #[arg(long, default_value = DEFAULT_API_VERSION, value_name = "VERSION")]
    pub api_version: String,
    /// Retries for throttling (429), server errors (5xx) and network failures.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_retries: u32,
    /// Timeout of one HTTP request (`90s`, `2m`).
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub http_timeout: Duration,
    /// First retry back-off; doubles each retry (tests shorten it).
    #[arg(long, default_value = "500ms", value_parser = parse_duration, hide = true)]
    pub retry_delay: Duration,
    /// Output format [default: table on a terminal, JSON otherwise].
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ArmOutput>,
}

/// `nwcap list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Watcher and connection.
    #[command(flatten)]
    pub arm: ArmArgs,
}

/// A command on one capture.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Capture name, or its full resource id (then -s/-g/-w are not needed).
    #[arg(value_name = "CAPTURE")]
    pub capture: String,
    /// Watcher and connection.
    #[command(flatten)]
    pub arm: ArmArgs,
}

/// `nwcap wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The capture.
    #[command(flatten)]
    pub target: CaptureArgs,
    /// Give up after this long (`30m`, `2h`, `90s`); exit code 8.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Time between status queries.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub interval: Duration,
}

/// `nwcap delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The capture.
    #[command(flatten)]
    pub target: CaptureArgs,
    /// Also delete the capture file from storage (the service leaves it there).
    #[arg(long)]
    pub delete_files: bool,
}

/// `nwcap start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Name of the new capture, or its full resource id.
    #[arg(value_name = "CAPTURE")]
    pub capture: String,
    /// What to capture, where to, and how much.
    #[command(flatten)]
    pub spec: CaptureSpec,
    /// Return once the service accepted the request, without waiting for the capture to start.
    #[arg(long)]
    pub no_wait: bool,
    /// Watcher and connection.
    #[command(flatten)]
    pub arm: ArmArgs,
}

/// A new capture's target, storage, limits and filters: shared by `start` and `capture`.
#[derive(Debug, Clone, Args)]
pub struct CaptureSpec {
    /// Target virtual machine (resource id).
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "vmss",
        conflicts_with = "vmss"
    )]
    pub vm: Option<String>,
    /// Target scale set (resource id), or one scale-set instance.
    #[arg(long, value_name = "ID")]
    pub vmss: Option<String>,
    /// Scale-set instances to capture on (comma-separated); default all.
    #[arg(long, value_delimiter = ',', value_name = "IDS", requires = "vmss")]
    pub include_instances: Vec<String>,
    /// Scale-set instances to leave out (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "IDS", requires = "vmss")]
    pub exclude_instances: Vec<String>,
    /// Storage account to upload the capture to (resource id).
    #[arg(long, value_name = "ID")]
    pub storage_account: Option<String>,
    /// Blob URL for the capture file (default: chosen by the service).
    #[arg(long, value_name = "URL", requires = "storage_account")]
    pub storage_path: Option<String>,
    /// File on the VM (`.cap`; on Linux under /var/captures).
    #[arg(long, value_name = "PATH")]
    pub file_path: Option<String>,
    /// Bytes kept per packet, 0 = whole packet [service default 0].
    #[arg(long, value_name = "BYTES")]
    pub bytes_per_packet: Option<u64>,
    /// Session ends after this many bytes [service default 1073741824].
    #[arg(long, value_name = "BYTES")]
    pub bytes_per_session: Option<u64>,
    /// Session ends after this many seconds, at most 18000 [service default 18000].
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<u64>,
    /// Continuous (ring-buffer) capture.
    #[arg(long)]
    pub continuous: bool,
    /// Continuous capture: number of files, 0-10000 [service default 10].
    #[arg(long, value_name = "N", requires = "continuous")]
    pub file_count: Option<u64>,
    /// Continuous capture: size of each file [service default 104857600].
    #[arg(long, value_name = "BYTES", requires = "continuous")]
    pub file_size: Option<u64>,
    /// Continuous capture: session time limit, at most 604800 [service default 86400].
    #[arg(long, value_name = "SECONDS", requires = "continuous")]
    pub session_time_limit: Option<u64>,
    /// Filters, same syntax as `nwcap analyze`.
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// `nwcap capture`: start, stop, wait, analyze, delete.
#[derive(Debug, Args)]
pub struct CaptureRunArgs {
    /// Name of the new capture, or its full resource id.
    #[arg(value_name = "CAPTURE")]
    pub capture: String,
    /// What to capture, where to, and how much (--storage-account is needed: the file is
    /// analyzed from Blob Storage).
    #[command(flatten)]
    pub spec: CaptureSpec,
    /// Stop the capture after this long (`90s`, `5m`); default: until its own limits end it,
    /// or Ctrl-C.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", conflicts_with = "until_stopped")]
    pub duration: Option<Duration>,
    /// Run until the capture's own limits (time, bytes) end it, or Ctrl-C (the default).
    #[arg(long)]
    pub until_stopped: bool,
    /// Keep the capture resource afterwards (default: delete it; its file stays in storage
    /// unless --delete-files).
    #[arg(long)]
    pub keep: bool,
    /// Also keep the capture's file(s) in this folder (downloaded, verified, then analyzed
    /// from disk).
    #[arg(long, value_name = "DIR")]
    pub download: Option<PathBuf>,
    /// Delete the capture's file(s) from storage after a successful analysis.
    #[arg(long)]
    pub delete_files: bool,
    /// Report format [default: table on a terminal, JSON otherwise].
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ReportFormat>,
    /// Rows in the table's flow list and in top talkers.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Threads per file. Default: the number of CPUs.
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Also a report per file (one per scale-set instance or ring-buffer file), after the
    /// merged one (`-o table` or `json`).
    #[arg(long)]
    pub by_file: bool,
    /// Read the first payloads of each flow (see `nwcap analyze --inspect`).
    #[arg(long)]
    pub inspect: bool,
    /// TCP health per flow (see `nwcap analyze --health`).
    #[arg(long)]
    pub health: bool,
    /// The timeline's interval (see `nwcap analyze --interval`).
    #[arg(long, value_parser = parse_interval, value_name = "DURATION")]
    pub timeline_interval: Option<Duration>,
    /// Print the timeline alone, an interval per row (see `nwcap analyze --timeline`).
    #[arg(long, conflicts_with = "by_file")]
    pub timeline: bool,
    /// Time between status queries while the capture runs.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub interval: Duration,
    /// How long to wait for the file to appear in storage once the capture stopped.
    #[arg(long, default_value = "2m", value_parser = parse_duration, value_name = "DURATION")]
    pub file_timeout: Duration,
    /// Where the watcher is, and how to fetch the blobs.
    #[command(flatten, next_help_heading = "Watcher and storage")]
    pub remote: RemoteArgs,
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
    /// Capture files; `-` reads standard input. Several files (and blobs) give one merged
    /// report.
    #[arg(value_name = "FILE", required_unless_present_any = ["capture", "url"])]
    pub files: Vec<String>,
    /// Also analyze this capture's file(s) from Blob Storage (name or full resource id), read
    /// as they download: nothing is written to disk.
    #[arg(long, value_name = "CAPTURE", conflicts_with = "url")]
    pub capture: Option<String>,
    /// Also analyze this blob (URL, may carry a SAS), read as it downloads. Repeatable.
    #[arg(long, value_name = "URL")]
    pub url: Vec<String>,
    /// Take the local addresses from this capture's target (its VM's or scale-set instances'
    /// network interfaces), for files downloaded from it; `--capture` does so by itself.
    #[arg(long, value_name = "CAPTURE", conflicts_with = "capture")]
    pub target_of: Option<String>,
    /// Output format [default: table on a terminal, JSON otherwise].
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ReportFormat>,
    /// Rows in the table's flow list and in top talkers.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Write the packets that matched the filters to this capture file (pcap; pcapng when
    /// link types are mixed).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Threads per input file (a file is split on record boundaries), and blobs read at once;
    /// the report is the same for any value. Default: the number of CPUs.
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Also a report per input file, after the merged one (`-o table` or `json`: then the
    /// object gains `by_file`, one report per file).
    #[arg(long)]
    pub by_file: bool,
    /// Read the first payloads of each flow: what it is (DNS, TLS, QUIC, HTTP, SSH, RDP; else
    /// named by its port), the names it shows (TLS/QUIC server names, HTTP hosts, DNS
    /// answers) and DNS failures. Adds `service`, `remote_name` and `app` to each flow and
    /// the `services` and `dns` sections.
    #[arg(long)]
    pub inspect: bool,
    /// TCP health: follow every segment's sequence numbers, as tshark's `tcp.analysis`, to
    /// count retransmissions (fast and SYN ones apart), out-of-order segments, duplicate
    /// ACKs, zero windows and keep-alives per flow and direction, read each side's SYN
    /// options, and add the findings that need them (retransmissions, zero-window stalls).
    #[arg(long)]
    pub health: bool,
    /// The timeline's interval (e.g. 1s, 100ms, 50us) [default: from 1, 2 or 5 times a
    /// power of ten, for 80 to 200 intervals over the capture].
    #[arg(long, visible_alias = "timeline-interval", value_parser = parse_interval, value_name = "DURATION")]
    pub interval: Option<Duration>,
    /// Print the timeline alone, one interval per row (packets and bytes in total, out and
    /// in, and new flows): CSV/TSV rows, NDJSON objects, the JSON `timeline` object, or a
    /// table.
    #[arg(long, conflicts_with = "by_file")]
    pub timeline: bool,
    /// Filters.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Where `--capture` is, and how to fetch its blobs.
    #[command(flatten, next_help_heading = "Capture in Azure (--capture, --url)")]
    pub remote: RemoteArgs,
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
    /// Blob URL to download instead of resolving a capture; may carry a SAS. Repeatable.
    #[arg(long, value_name = "URL")]
    pub url: Vec<String>,
    /// Where to save: a folder (existing, or ending in `/`), or a file name for one blob
    /// [default: the current folder].
    #[arg(short = 'd', long, visible_alias = "destination", value_name = "PATH")]
    pub dest: Option<std::path::PathBuf>,
    /// What to print on standard output: nothing but progress on stderr (table), or one
    /// record per saved blob (json, tsv) for scripts.
    #[arg(short = 'o', long, value_name = "FORMAT", value_parser = download_output)]
    pub output: Option<ArmOutput>,
    /// Replace an existing file even when it already holds this blob version.
    #[arg(long)]
    pub force: bool,
    /// No progress bar and no summary lines (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// Where the capture is, and how to reach its blob.
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `download -o`: a format, with a pointer to `--dest` for those who meant a path (`-o` was
/// download's destination once).
fn download_output(s: &str) -> Result<ArmOutput, String> {
    ArmOutput::from_str(s, true).map_err(|_| {
        format!(
            "'{s}' is not an output format (table, json, tsv): -o/--output is the format, as \
             in az; the destination is --dest PATH"
        )
    })
}

/// Where a capture's blobs are and how to fetch them: shared by `download` and `analyze`.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// Subscription id of the capture.
    #[arg(short = 's', long, env = "AZURE_SUBSCRIPTION_ID")]
    pub subscription: Option<String>,
    /// Resource group of the network watcher [default: NetworkWatcherRG].
    #[arg(short = 'g', long, value_name = "NAME")]
    pub resource_group: Option<String>,
    /// Network watcher name (default: `NetworkWatcher_<location>`).
    #[arg(short = 'w', long)]
    pub watcher: Option<String>,
    /// Region of the default watcher (`NetworkWatcher_<location>` in NetworkWatcherRG).
    #[arg(short = 'l', long, value_name = "REGION")]
    pub location: Option<String>,
    /// Resource Manager endpoint (Azure China, US Government, tests).
    #[arg(long, env = "AZURE_RESOURCE_MANAGER_ENDPOINT", default_value = DEFAULT_ENDPOINT, value_name = "URL")]
    pub arm_endpoint: String,
    /// REST api-version of Microsoft.Network.
    #[arg(long, default_value = DEFAULT_API_VERSION, value_name = "VERSION")]
    pub api_version: String,
    /// SAS token for the blob(s), e.g. `sv=...&sig=...`; without one nwcap uses Entra ID.
    #[arg(long, value_name = "TOKEN", env = "NWCAP_SAS", hide_env_values = true)]
    pub sas: Option<String>,
    /// Concurrent ranged GETs per blob.
    #[arg(long, default_value_t = crate::azure::blob::DEFAULT_PARALLEL, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub parallel: usize,
    /// Bytes per ranged GET, e.g. 8MiB, 512KiB, 4M (64KiB..=256MiB).
    #[arg(long, default_value = "8MiB", value_parser = parse_block_size)]
    pub block_size: usize,
    /// How often a broken transfer is resumed before giving up.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// Retries of one request for throttling (429), server errors (5xx) and dropped
    /// connections [default: 5 for Resource Manager, 3 for a blob request, which a broken
    /// transfer's resumes (--retries) then build on].
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
    /// Timeout of one HTTP request (`90s`, `2m`).
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub http_timeout: Duration,
    /// Credential for Resource Manager and, without a SAS, for Blob Storage. `token` uses the
    /// bearer token in NWCAP_ACCESS_TOKEN (NWCAP_STORAGE_ACCESS_TOKEN for storage, when set).
    #[arg(long, value_enum, env = "NWCAP_AUTH", default_value_t = Auth::Auto)]
    pub auth: Auth,
}

impl RemoteArgs {
    /// The Resource Manager settings, for resolving a capture name (the blob settings do not
    /// belong in the ARM commands' argument group).
    pub fn arm(&self) -> ArmArgs {
        ArmArgs {
            subscription: self.subscription.clone(),
            resource_group: self.resource_group.clone(),
            watcher: self.watcher.clone(),
            location: self.location.clone(),
            auth: self.auth,
            arm_endpoint: self.arm_endpoint.clone(),
            api_version: self.api_version.clone(),
            max_retries: self.max_retries.unwrap_or(5),
            http_timeout: self.http_timeout,
            retry_delay: Duration::from_millis(500),
            output: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
