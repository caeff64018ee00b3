//! Where tokens come from: a credential chain, one chosen source, or a token given as is.
//!
//! Everything here is scope-agnostic: the same credential serves Resource Manager
//! (`https://management.azure.com/.default`) and Blob Storage (`https://storage.azure.com/.default`).
//! This module never prints and never puts a token into an error message; what it says about
//! an identity comes from the token's public claims ([`describe_token`]).

use std::sync::{Arc, OnceLock};
use std::time::Duration as StdDuration;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::time::{Duration, OffsetDateTime};
use azure_identity::{
    AzureCliCredential, AzureDeveloperCliCredential, ClientSecretCredential,
    ManagedIdentityCredential, WorkloadIdentityCredential,
};
use base64::Engine;

/// Environment variable holding the bearer token for `--auth token`.
pub const TOKEN_ENV: &str = "NWCAP_ACCESS_TOKEN";

/// With `--auth token`: the token for Blob Storage scopes, when it differs from the ARM one
/// (an ARM token is not accepted by Storage).
pub const STORAGE_TOKEN_ENV: &str = "NWCAP_STORAGE_ACCESS_TOKEN";

/// How a managed-identity endpoint gets to answer in the chain before the next source is
/// tried: off Azure the IMDS address does not answer at all, and the SDK would retry for
/// over a minute.
const MANAGED_IDENTITY_PROBE: StdDuration = StdDuration::from_secs(3);

/// Which credential [`credential`] builds; the command line's `--auth` converts into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthKind {
    /// [`Chain::from_environment`]: the sources below in order, the first that gives a token.
    #[default]
    Auto,
    /// `ClientSecretCredential` from the `AZURE_*` variables.
    Env,
    /// `WorkloadIdentityCredential`.
    WorkloadIdentity,
    /// `ManagedIdentityCredential`.
    ManagedIdentity,
    /// `AzureCliCredential`.
    AzureCli,
    /// `AzureDeveloperCliCredential`.
    Azd,
    /// A fixed token from [`TOKEN_ENV`] (and [`STORAGE_TOKEN_ENV`] for Blob Storage).
    Token,
}

impl AuthKind {
    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            AuthKind::Auto => "credential chain",
            AuthKind::Env => {
                "service principal (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)"
            }
            AuthKind::WorkloadIdentity => "workload identity",
            AuthKind::ManagedIdentity => "managed identity",
            AuthKind::AzureCli => "Azure CLI",
            AuthKind::Azd => "Azure Developer CLI",
            AuthKind::Token => "token from NWCAP_ACCESS_TOKEN",
        }
    }
}

/// The credential could not be set up (missing variables, bad values).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CredentialError(pub String);

/// The credential for `kind`; tokens are requested later, per scope, by whoever calls
/// `get_token` (the ARM pipeline, the blob client).
pub fn credential(kind: AuthKind) -> Result<Arc<dyn TokenCredential>, CredentialError> {
    match kind {
        AuthKind::Auto => Ok(Arc::new(Chain::from_environment())),
        AuthKind::Token => {
            let token = std::env::var(TOKEN_ENV).unwrap_or_default();
            let token = token.trim();
            if token.is_empty() {
                return Err(CredentialError(format!(
                    "--auth token: the environment variable {TOKEN_ENV} is empty or not set"
                )));
            }
            let mut cred = StaticToken::new(token.to_string());
            if let Ok(st) = std::env::var(STORAGE_TOKEN_ENV) {
                if !st.trim().is_empty() {
                    cred.storage = Some(Box::new(StaticToken::new(st.trim().to_string())));
                }
            }
            Ok(Arc::new(cred))
        }
        other => source(other).map(|(_, c)| c),
    }
}

/// The source used by the last successful chain, for messages ("identity used: …").
///
/// The trait object hides which member of a [`Chain`] answered; one process runs one chain,
/// so a process-wide note is the simplest honest answer.
pub fn chosen_source() -> Option<&'static str> {
    CHOSEN.get().copied()
}

static CHOSEN: OnceLock<&'static str> = OnceLock::new();

fn source(kind: AuthKind) -> Result<(&'static str, Arc<dyn TokenCredential>), CredentialError> {
    let name = kind.label();
    let err = |e: azure_core::Error| CredentialError(format!("{name}: {e}"));
    let cred: Arc<dyn TokenCredential> = match kind {
        AuthKind::Env => {
            let var = |n: &str| {
                std::env::var(n)
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| CredentialError(format!("{name}: {n} is not set")))
            };
            let tenant = var("AZURE_TENANT_ID")?;
            let client = var("AZURE_CLIENT_ID")?;
            let secret = var("AZURE_CLIENT_SECRET")?;
            ClientSecretCredential::new(&tenant, client, Secret::new(secret), None).map_err(err)?
        }
        AuthKind::WorkloadIdentity => WorkloadIdentityCredential::new(None).map_err(err)?,
        AuthKind::ManagedIdentity => ManagedIdentityCredential::new(None).map_err(err)?,
        AuthKind::AzureCli => AzureCliCredential::new(None).map_err(err)?,
        AuthKind::Azd => AzureDeveloperCliCredential::new(None).map_err(err)?,
        AuthKind::Auto | AuthKind::Token => unreachable!("handled by credential()"),
    };
    Ok((name, cred))
}

/// A chain member, or why it could not be set up.
type SourceResult = Result<Arc<dyn TokenCredential>, CredentialError>;

/// Sources tried in order; the first one that yields a token is kept for later calls.
#[derive(Debug)]
pub struct Chain {
    sources: Vec<(&'static str, SourceResult)>,
    chosen: OnceLock<usize>,
}

impl Chain {
    /// The usual chain: environment service principal, workload identity, managed identity,
    /// Azure CLI, Azure Developer CLI. Sources that cannot even be constructed (their
    /// variables are missing) stay in the list so the final error can say why each failed.
    pub fn from_environment() -> Self {
        let kinds = [
            AuthKind::Env,
            AuthKind::WorkloadIdentity,
            AuthKind::ManagedIdentity,
            AuthKind::AzureCli,
            AuthKind::Azd,
        ];
        Chain {
            sources: kinds
                .iter()
                .map(|&k| (k.label(), source(k).map(|(_, c)| c)))
                .collect(),
            chosen: OnceLock::new(),
        }
    }
}

#[async_trait::async_trait]
impl TokenCredential for Chain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some(&i) = self.chosen.get() {
            if let (_, Ok(c)) = &self.sources[i] {
                return c.get_token(scopes, options).await;
            }
        }
        let mut failures = Vec::new();
        for (i, (name, cred)) in self.sources.iter().enumerate() {
            let cred = match cred {
                Ok(c) => c,
                Err(e) => {
                    failures.push(e.0.clone());
                    continue;
                }
            };
            let attempt = cred.get_token(scopes, options.clone());
            let result = if *name == AuthKind::ManagedIdentity.label() {
                match tokio::time::timeout(MANAGED_IDENTITY_PROBE, attempt).await {
                    Ok(r) => r,
                    Err(_) => {
                        failures.push(format!(
                            "{name}: no answer from the managed identity endpoint within {}s",
                            MANAGED_IDENTITY_PROBE.as_secs()
                        ));
                        continue;
                    }
                }
            } else {
                attempt.await
            };
            match result {
                Ok(token) => {
                    let _ = self.chosen.set(i);
                    let _ = CHOSEN.set(name);
                    return Ok(token);
                }
                Err(e) => failures.push(format!(
                    "{name}: {}",
                    one_line(&e).replace(TROUBLESHOOT, "").trim_end()
                )),
            }
        }
        Err(azure_core::Error::with_message(
            ErrorKind::Credential,
            format!(
                "no credential in the chain worked (choose one with --auth): {} (help: https://aka.ms/azsdk/rust/identity/troubleshoot)",
                failures.join(" | ")
            ),
        ))
    }
}

/// The SDK appends this to every credential error; the chain says it once.
const TROUBLESHOOT: &str = "To troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot";

/// An error and its causes on one line; SDK messages are often multi-line.
fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A token given from outside (`--auth token`); it is never refreshed.
#[derive(Clone)]
pub struct StaticToken {
    token: Secret,
    expires_on: OffsetDateTime,
    /// Used instead for `https://storage.azure.com` scopes, when given.
    storage: Option<Box<StaticToken>>,
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken")
    }
}

impl StaticToken {
    /// Wraps a token; its expiry is read from the JWT `exp` claim when there is one.
    pub fn new(token: String) -> Self {
        let expires_on = claims(&token)
            .and_then(|c| c.get("exp").and_then(serde_json::Value::as_i64))
            .and_then(|exp| OffsetDateTime::from_unix_timestamp(exp).ok())
            .unwrap_or_else(|| OffsetDateTime::now_utc() + Duration::hours(1));
        StaticToken {
            token: Secret::new(token),
            expires_on,
            storage: None,
        }
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some(st) = &self.storage {
            if scopes
                .iter()
                .any(|s| s.starts_with("https://storage.azure.com"))
            {
                return st.get_token(scopes, options).await;
            }
        }
        if self.expires_on <= OffsetDateTime::now_utc() {
            return Err(azure_core::Error::with_message(
                ErrorKind::Credential,
                format!("the token in {TOKEN_ENV} has expired; get a new one"),
            ));
        }
        Ok(AccessToken::new(self.token.clone(), self.expires_on))
    }
}

/// The claims of a JWT, if `token` is one (signature not checked: used for messages only).
fn claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Who a token belongs to, from its public claims: user principal name or application id,
/// object id and tenant. `None` for tokens that are not JWTs. Never includes the token.
pub fn describe_token(token: &str) -> Option<String> {
    let c = claims(token)?;
    let get = |k: &str| c.get(k).and_then(serde_json::Value::as_str);
    let who = if let Some(u) = get("upn")
        .or_else(|| get("unique_name"))
        .or_else(|| get("preferred_username"))
    {
        format!("user {u}")
    } else if let Some(a) = get("appid").or_else(|| get("azp")) {
        format!("application {a}")
    } else {
        "an identity".to_string()
    };
    let mut out = who;
    if let Some(oid) = get("oid") {
        out.push_str(&format!(", object id {oid}"));
    }
    if let Some(tid) = get("tid") {
        out.push_str(&format!(", tenant {tid}"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode("{\"alg\":\"none\"}"),
            e.encode(payload)
        )
    }

    #[test]
    fn describes_users_and_apps_without_the_token() {
        let t = jwt(r#"{"upn":"alice@contoso.com","oid":"o1","tid":"t1","exp":4102444800}"#);
        let d = describe_token(&t).unwrap();
        assert_eq!(d, "user alice@contoso.com, object id o1, tenant t1");
        assert!(!d.contains(&t));
        let t = jwt(r#"{"appid":"app-1"}"#);
        assert_eq!(describe_token(&t).unwrap(), "application app-1");
        assert!(describe_token("not-a-jwt").is_none());
    }

    #[test]
    fn static_token_expiry_from_claims() {
        let t = StaticToken::new(jwt(r#"{"exp":1000}"#));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(t.get_token(&["s"], None)).expect_err("expired");
        assert!(err.to_string().contains("expired"));
        let ok = StaticToken::new("opaque".into());
        let token = rt.block_on(ok.get_token(&["s"], None)).expect("a token");
        assert_eq!(token.token.secret(), "opaque");
        let t = jwt(r#"{"exp":4102444800}"#);
        let later = rt.block_on(StaticToken::new(t.clone()).get_token(&["s"], None));
        let later = later.expect("not expired");
        assert_eq!(later.token.secret(), t);
        assert_eq!(later.expires_on.unix_timestamp(), 4102444800);
    }
}
