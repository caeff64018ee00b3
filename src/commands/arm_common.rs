//! Glue shared by the Resource Manager commands: building the client from flags, resolving
//! which capture is meant, mapping Azure errors to exit codes, and printing.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use anyhow::Context;

use crate::azure::arm::{ArmClient, ArmOptions};
use crate::azure::credential::{self, AuthKind};
use crate::azure::resource_id::{check_name, CaptureId, WatcherId, DEFAULT_WATCHER_RESOURCE_GROUP};
use crate::azure::{self, ErrorClass, HttpOptions};
use crate::cli::{ArmArgs, ArmOutput};
use crate::exit;

/// Transport settings from the flags.
pub fn http_options(arm: &ArmArgs, verbose: u8) -> HttpOptions {
    HttpOptions {
        max_retries: arm.max_retries,
        retry_delay: arm.retry_delay,
        timeout: arm.http_timeout,
        verbose,
        auth_label: AuthKind::from(arm.auth).label(),
    }
}

/// The ARM client the flags describe.
pub fn client(arm: &ArmArgs, verbose: u8) -> anyhow::Result<ArmClient> {
    let endpoint = url::Url::parse(arm.arm_endpoint.trim())
        .ok()
        .filter(|u| u.has_host() && (u.scheme() == "https" || u.scheme() == "http"))
        .ok_or_else(|| {
            exit::usage(anyhow::anyhow!(
                "--arm-endpoint: '{}' is not an http(s) URL",
                arm.arm_endpoint
            ))
        })?;
    if arm.api_version.trim().is_empty() {
        return Err(exit::usage(anyhow::anyhow!("--api-version is empty")));
    }
    let cred = credential(arm.auth.into())?;
    let options = ArmOptions {
        endpoint,
        api_version: arm.api_version.trim().to_string(),
        http: http_options(arm, verbose),
        ..Default::default()
    };
    Ok(ArmClient::new(cred, options))
}

/// The credential for `--auth`, with setup failures as authentication errors.
pub fn credential(
    kind: AuthKind,
) -> anyhow::Result<std::sync::Arc<dyn azure_core::credentials::TokenCredential>> {
    credential::credential(kind)
        .map_err(|e| exit::with_code(exit::AUTH, anyhow::anyhow!("authentication: {e}")))
}

/// The watcher from `-s/-g/-w/--location`.
pub fn watcher(arm: &ArmArgs) -> anyhow::Result<WatcherId> {
    let subscription = arm
        .subscription
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            exit::usage(anyhow::anyhow!(
                "no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID"
            ))
        })?;
    // As az: a flag wins over AZURE_DEFAULTS_GROUP / AZURE_DEFAULTS_LOCATION, which win over
    // nwcap's own defaults.
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let location = arm.location.clone().or_else(|| {
        let l = env("AZURE_DEFAULTS_LOCATION")?;
        note_default(format!("location {l} from AZURE_DEFAULTS_LOCATION"));
        Some(l)
    });
    let name = match (&arm.watcher, &location) {
        (Some(w), _) => w.clone(),
        (None, Some(l)) => WatcherId::default_watcher_name(l),
        (None, None) => {
            return Err(exit::usage(anyhow::anyhow!(
                "which network watcher? pass --location REGION (default watcher NetworkWatcher_<region>) or --watcher NAME, or set AZURE_DEFAULTS_LOCATION"
            )))
        }
    };
    let resource_group = match arm.resource_group.clone() {
        Some(g) => g,
        None => match env("AZURE_DEFAULTS_GROUP") {
            Some(g) => {
                note_default(format!("resource group {g} from AZURE_DEFAULTS_GROUP"));
                g
            }
            None => DEFAULT_WATCHER_RESOURCE_GROUP.to_string(),
        },
    };
    check_name("a subscription id", &subscription).map_err(exit::usage)?;
    check_name("a resource group name", &resource_group).map_err(exit::usage)?;
    check_name("a network watcher name", &name).map_err(exit::usage)?;
    Ok(WatcherId {
        subscription,
        resource_group,
        name,
    })
}

/// The capture: a full resource id, or a name in the watcher the flags describe.
pub fn capture(name_or_id: &str, arm: &ArmArgs) -> anyhow::Result<CaptureId> {
    if name_or_id.starts_with('/') {
        let id = CaptureId::parse(name_or_id).map_err(exit::usage)?;
        let clash = |flag: &str, given: &Option<String>, actual: &str| match given {
            Some(g) if !g.eq_ignore_ascii_case(actual) => Err(exit::usage(anyhow::anyhow!(
                "{flag} '{g}' contradicts the resource id ('{actual}')"
            ))),
            _ => Ok(()),
        };
        clash(
            "--resource-group",
            &arm.resource_group,
            &id.watcher.resource_group,
        )?;
        clash("--watcher", &arm.watcher, &id.watcher.name)?;
        return Ok(id);
    }
    check_name(
        "a capture name (or a full resource id starting with /subscriptions/)",
        name_or_id,
    )
    .map_err(exit::usage)?;
    Ok(CaptureId {
        watcher: watcher(arm)?,
        name: name_or_id.to_string(),
    })
}

/// The az defaults this run used, for the message when what they point at does not exist.
static DEFAULTS_USED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn note_default(what: String) {
    if let Ok(mut used) = DEFAULTS_USED.lock() {
        used.push(what);
    }
}

/// Maps an Azure error to its documented exit code; a "not found" says which az defaults
/// (environment variables) chose the watcher.
pub fn fail(e: azure::Error) -> anyhow::Error {
    let code = match e.class() {
        ErrorClass::Auth => exit::AUTH,
        ErrorClass::NotFound => exit::NOT_FOUND,
        ErrorClass::Conflict => exit::CONFLICT,
        ErrorClass::OperationFailed => exit::FAILED,
        ErrorClass::Transient => exit::UNAVAILABLE,
        ErrorClass::Other => exit::RUNTIME,
    };
    let used = DEFAULTS_USED
        .lock()
        .map(|u| u.join(", "))
        .unwrap_or_default();
    if code == exit::NOT_FOUND && !used.is_empty() {
        return exit::with_code(
            code,
            anyhow::anyhow!("{e} (with the az default {used}; -g/-l override it)"),
        );
    }
    exit::with_code(code, anyhow::anyhow!("{e}"))
}

/// The output format: the flag, else a table on a terminal and JSON otherwise.
pub fn output(arm: &ArmArgs) -> ArmOutput {
    arm.output.unwrap_or(if io::stdout().is_terminal() {
        ArmOutput::Table
    } else {
        ArmOutput::Json
    })
}

/// Writes to stdout; a closed pipe (`nwcap list | head`) ends quietly.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// Pretty JSON plus a newline.
pub fn emit_json(v: &serde_json::Value) -> anyhow::Result<()> {
    emit(&format!(
        "{}\n",
        serde_json::to_string_pretty(v).expect("JSON values serialize")
    ))
}
