//! The node's logs, as CometBFT and gaiad configure them: a level and a format from
//! `--log_level` / `--log_format`, else `RUST_LOG` (the level only), else config.toml's
//! top-level `log_level` / `log_format`, else `info` and `plain`. Plain text, or one JSON
//! object per line (`--log_format json`: the event's fields at the top level, with
//! `timestamp`, `level`, `target` and `message`), always on stderr.
//!
//! Levels take CometBFT's and the SDK's syntax — `info`, or `module:level,*:level` — where a
//! module is a tracing target prefix (`keystone_consensus_driver:debug,*:info`); tracing's
//! own `target=level` directives are taken as they are.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::io::IsTerminal;
use std::path::Path;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text.
    Plain,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<LogFormat> {
        match s {
            "plain" | "text" => Ok(LogFormat::Plain),
            "json" => Ok(LogFormat::Json),
            other => bail!("log_format must be \"plain\" or \"json\", got {other:?}"),
        }
    }
}

/// A level in CometBFT's syntax as a tracing filter.
pub fn filter(level: &str) -> Result<EnvFilter> {
    let directives: Vec<String> = level
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match d.split_once(':') {
            Some(("*", l)) => l.to_string(),
            Some((module, l)) => format!("{module}={l}"),
            None => d.to_string(),
        })
        .collect();
    if directives.is_empty() {
        bail!("log_level is empty");
    }
    EnvFilter::try_new(directives.join(","))
        .with_context(|| format!("log_level {level:?} is not a level nor module:level pairs"))
}

/// The logging keys of config.toml.
#[derive(Default, Deserialize)]
struct LogToml {
    log_level: Option<String>,
    log_format: Option<String>,
}

/// `log_level` and `log_format` from `config` (a missing file sets neither: the command
/// reports it).
fn from_config(config: &Path) -> Result<LogToml> {
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LogToml::default()),
        Err(e) => return Err(e).with_context(|| config.display().to_string()),
    };
    toml::from_str(&text).with_context(|| format!("{}: invalid config", config.display()))
}

/// Install the node's logger.
pub fn init(flag_level: Option<&str>, flag_format: Option<&str>, config: &Path) -> Result<()> {
    let file = from_config(config)?;
    let filter = match (flag_level, std::env::var("RUST_LOG").ok(), &file.log_level) {
        (Some(l), _, _) => filter(l).context("--log_level")?,
        (None, Some(env), _) if !env.is_empty() => {
            EnvFilter::try_new(&env).with_context(|| format!("RUST_LOG {env:?}"))?
        }
        (None, _, Some(l)) => filter(l).with_context(|| config.display().to_string())?,
        _ => EnvFilter::new("info"),
    };
    let format: LogFormat = match (flag_format, &file.log_format) {
        (Some(f), _) => f.parse().context("--log_format")?,
        (None, Some(f)) => f.parse().with_context(|| config.display().to_string())?,
        (None, None) => LogFormat::Plain,
    };
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Plain => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().flatten_event(true).with_ansi(false).init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cometbft_levels_become_tracing_filters() {
        assert_eq!(filter("info").expect("level").to_string(), "info");
        assert_eq!(
            filter("keystone_consensus_driver:debug,*:warn")
                .expect("pairs")
                .to_string(),
            "keystone_consensus_driver=debug,warn"
        );
        assert!(filter("").is_err());
        assert!(filter("consensus:loud").is_err());
        assert!("yaml".parse::<LogFormat>().is_err());
        assert_eq!("json".parse::<LogFormat>().expect("json"), LogFormat::Json);
    }
}
