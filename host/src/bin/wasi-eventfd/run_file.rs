//! Run files: the eventfds of a run and its guests, each with its own
//! arguments, environment, directories and eventfds, in TOML.
//!
//! ```toml
//! [eventfd.jobs]
//! initval = 0
//! semaphore = true
//! nonblock = true
//!
//! [[guest]]
//! file = "worker.wasm"          # relative to this file
//! count = 3                     # three copies
//! args = ["--verbose"]
//! env = { RUST_LOG = "debug" }
//! dirs = ["data::/data"]        # as --dir
//! eventfds = ["jobs"]           # the only ones it can reach
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use wasi_eventfd::runner::GuestSpec;
use wasi_eventfd::CreateFlags;

use crate::args::{guest_env, parse_dir, EnvVar, EventfdSpec};

/// A run file, read and checked: what to create and what to run.
pub struct RunFile {
    pub eventfds: Vec<EventfdSpec>,
    pub guests: Vec<GuestSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    eventfd: BTreeMap<String, RawEventfd>,
    #[serde(default)]
    guest: Vec<RawGuest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventfd {
    #[serde(default)]
    initval: u32,
    #[serde(default)]
    semaphore: bool,
    #[serde(default)]
    nonblock: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGuest {
    file: Spanned<String>,
    #[serde(default)]
    args: Vec<String>,
    argv0: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Host variables passed on by name (`--env NAME`).
    #[serde(default)]
    env_from_host: Vec<String>,
    #[serde(default)]
    inherit_env: bool,
    #[serde(default)]
    dirs: Vec<Spanned<String>>,
    #[serde(default)]
    eventfds: Vec<Spanned<String>>,
    count: Option<Spanned<u32>>,
    stdin: Option<Spanned<bool>>,
    #[serde(default)]
    inherit_network: bool,
    #[serde(default)]
    allow_ip_name_lookup: bool,
}

impl RunFile {
    /// Reads and checks the run file at `path`. The error names the file,
    /// the line and column, and the key at fault.
    pub fn read(path: &Path) -> Result<RunFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read run file {}: {e}", path.display()))?;
        let at = |span: Option<Range<usize>>, message: &str| located(path, &text, span, message);
        let raw: Raw = toml::from_str(&text).map_err(|e| at(e.span(), e.message()))?;
        let base = path.parent().unwrap_or(Path::new("."));

        let eventfds = raw
            .eventfd
            .iter()
            .map(|(name, eventfd)| EventfdSpec {
                name: name.clone(),
                initval: eventfd.initval,
                flags: {
                    let mut flags = CreateFlags::empty();
                    flags.set(CreateFlags::SEMAPHORE, eventfd.semaphore);
                    flags.set(CreateFlags::NONBLOCK, eventfd.nonblock);
                    flags
                },
            })
            .collect::<Vec<_>>();
        if raw.guest.is_empty() {
            return Err(at(None, "no [[guest]]: the run file names nothing to run"));
        }
        let mut stdin_taken = false;
        let mut guests = Vec::new();
        for guest in &raw.guest {
            let file = base.join(guest.file.get_ref());
            if !file.is_file() {
                return Err(at(
                    Some(guest.file.span()),
                    &format!("`file`: no such file: {}", file.display()),
                ));
            }
            let mut spec = GuestSpec::new(&file, guest.args.iter().cloned());
            if let (Some(argv0), Some(first)) = (&guest.argv0, spec.args.first_mut()) {
                *first = argv0.clone();
            }
            let vars = guest
                .env_from_host
                .iter()
                .map(|name| EnvVar {
                    name: name.clone(),
                    value: None,
                })
                .chain(guest.env.iter().map(|(name, value)| EnvVar {
                    name: name.clone(),
                    value: Some(value.clone()),
                }))
                .collect::<Vec<_>>();
            spec.env = guest_env(guest.inherit_env, &vars).map_err(|e| at(None, &e))?;
            for dir in &guest.dirs {
                let mut grant = parse_dir(dir.get_ref())
                    .map_err(|e| at(Some(dir.span()), &format!("`dirs`: {e}")))?;
                grant.host = base.join(&grant.host);
                if !grant.host.is_dir() {
                    return Err(at(
                        Some(dir.span()),
                        &format!("`dirs`: no such directory: {}", grant.host.display()),
                    ));
                }
                spec.dirs.push(grant);
            }
            for name in &guest.eventfds {
                if !raw.eventfd.contains_key(name.get_ref()) {
                    return Err(at(
                        Some(name.span()),
                        &format!(
                            "`eventfds`: no eventfd named `{}` (declare it as [eventfd.{}])",
                            name.get_ref(),
                            name.get_ref()
                        ),
                    ));
                }
            }
            spec.eventfds = Some(guest.eventfds.iter().map(|n| n.get_ref().clone()).collect());
            spec.inherit_network = guest.inherit_network;
            spec.allow_ip_name_lookup = guest.allow_ip_name_lookup;
            if let Some(stdin) = guest.stdin.as_ref().filter(|s| *s.get_ref()) {
                if stdin_taken {
                    return Err(at(
                        Some(stdin.span()),
                        "`stdin`: only one guest can read stdin",
                    ));
                }
                stdin_taken = true;
                spec.stdin = true;
            }
            let count = guest.count.as_ref().map_or(1, |c| *c.get_ref());
            if count == 0 {
                let span = guest.count.as_ref().map(Spanned::span);
                return Err(at(span, "`count`: must be at least 1"));
            }
            if spec.stdin && count > 1 {
                let span = guest.stdin.as_ref().map(Spanned::span);
                return Err(at(
                    span,
                    "`stdin`: only one guest can read stdin, not `count` copies",
                ));
            }
            guests.extend(std::iter::repeat_n(spec, count as usize));
        }
        Ok(RunFile { eventfds, guests })
    }
}

/// `FILE:LINE:COLUMN: MESSAGE`, with the line quoted, for the byte range
/// `span` of `text`.
fn located(path: &Path, text: &str, span: Option<Range<usize>>, message: &str) -> String {
    let Some(span) = span else {
        return format!("{}: {message}", path.display());
    };
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    let source = text
        .get(line_start..)
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default();
    // Name the key when the message does not: the one this line sets.
    let key = source
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| !key.is_empty() && !message.contains(&format!("`{key}`")));
    let message = match key {
        Some(key) => format!("`{key}`: {message}"),
        None => message.to_string(),
    };
    format!(
        "{}:{line}:{column}: {message}\n  {line} | {source}",
        path.display()
    )
}
