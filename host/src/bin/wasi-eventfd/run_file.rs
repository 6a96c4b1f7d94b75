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
use std::io::Read as _;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use wasi_eventfd::runner::GuestSpec;
use wasi_eventfd::CreateFlags;

use crate::args::{
    check_env_name, guest_env, parse_dir, quoted, shortened, EnvVar, EventfdSpec, MAX_GUESTS,
    MAX_QUOTED_CHARS,
};

/// The most bytes a run file may hold: a run file is a few lines per
/// guest, and `--config /dev/zero` or a pipe that never ends must not be
/// read until memory runs out.
pub const MAX_RUN_FILE_BYTES: u64 = 16 << 20;

/// A run file, read and checked: what to create and what to run.
pub struct RunFile {
    pub eventfds: Vec<EventfdSpec>,
    pub guests: Vec<GuestSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    eventfd: BTreeMap<Spanned<String>, RawEventfd>,
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
    args: Vec<Spanned<String>>,
    argv0: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Host variables passed on by name (`--env NAME`).
    #[serde(default)]
    env_from_host: Vec<Spanned<String>>,
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
    /// TCP listeners (`-S tcplisten=ADDR`), in order at the fds after the
    /// preopened directories.
    #[serde(default)]
    tcplisten: Vec<Spanned<String>>,
}

impl RunFile {
    /// Reads and checks the run file at `path` (at most
    /// [`MAX_RUN_FILE_BYTES`] of UTF-8; a pipe works too). The error names
    /// the file, the line and column, and the key at fault.
    pub fn read(path: &Path) -> Result<RunFile, String> {
        let text = read_text(path)?;
        let at = |span: Option<Range<usize>>, message: &str| located(path, &text, span, message);
        let raw: Raw = toml::from_str(&text).map_err(|e| at(e.span(), e.message()))?;
        let base = path.parent().unwrap_or(Path::new("."));

        let mut eventfds = Vec::with_capacity(raw.eventfd.len());
        for (name, eventfd) in &raw.eventfd {
            // The names `--eventfd NAME=…` can give, no more.
            let refused = match name.get_ref() {
                n if n.is_empty() => Some("the name is empty"),
                n if n.contains('=') => Some("a name cannot hold `=`"),
                n if n.contains('\0') => Some("a name cannot hold a NUL character"),
                _ => None,
            };
            if let Some(refused) = refused {
                return Err(at(
                    Some(name.span()),
                    &format!("[eventfd.{}]: {refused}", quoted(name.get_ref())),
                ));
            }
            eventfds.push(EventfdSpec {
                name: name.get_ref().clone(),
                initval: eventfd.initval,
                flags: {
                    let mut flags = CreateFlags::empty();
                    flags.set(CreateFlags::SEMAPHORE, eventfd.semaphore);
                    flags.set(CreateFlags::NONBLOCK, eventfd.nonblock);
                    flags
                },
            });
        }
        if raw.guest.is_empty() {
            return Err(at(None, "no [[guest]]: the run file names nothing to run"));
        }
        let mut stdin_taken = false;
        let mut listeners: std::collections::HashMap<
            std::net::SocketAddr,
            std::sync::Arc<std::net::TcpListener>,
        > = std::collections::HashMap::new();
        let mut guests = Vec::new();
        for guest in &raw.guest {
            let file = base.join(guest.file.get_ref());
            check_guest_file(&file)
                .map_err(|e| at(Some(guest.file.span()), &format!("`file`: {e}")))?;
            // WASI preview 1 hands arguments to guests as NUL-terminated
            // strings, and the command line cannot carry a NUL either.
            for arg in guest.args.iter().chain(&guest.argv0) {
                if arg.get_ref().contains('\0') {
                    return Err(at(
                        Some(arg.span()),
                        "an argument cannot hold a NUL character",
                    ));
                }
            }
            let mut spec = GuestSpec::new(&file, guest.args.iter().map(|a| a.get_ref().clone()));
            if let (Some(argv0), Some(first)) = (&guest.argv0, spec.args.first_mut()) {
                *first = argv0.get_ref().clone();
            }
            for (name, value) in guest
                .env_from_host
                .iter()
                .map(|name| (name, None))
                .chain(guest.env.iter().map(|(name, value)| (name, Some(value))))
            {
                check_env_name(name.get_ref()).map_err(|e| {
                    at(
                        Some(name.span()),
                        &format!("environment variable {}: {e}", quoted(name.get_ref())),
                    )
                })?;
                if let Some(value) = value.filter(|v| v.get_ref().contains('\0')) {
                    return Err(at(
                        Some(value.span()),
                        "an environment variable's value cannot hold a NUL character",
                    ));
                }
            }
            let vars = guest
                .env_from_host
                .iter()
                .map(|name| EnvVar {
                    name: name.get_ref().clone(),
                    value: None,
                })
                .chain(guest.env.iter().map(|(name, value)| EnvVar {
                    name: name.get_ref().clone(),
                    value: Some(value.get_ref().clone()),
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
                if !raw.eventfd.contains_key(name.get_ref().as_str()) {
                    return Err(at(
                        Some(name.span()),
                        &format!(
                            "`eventfds`: no eventfd named {} (declare it as [eventfd.{}])",
                            quoted(name.get_ref()),
                            shortened(name.get_ref(), MAX_QUOTED_CHARS)
                        ),
                    ));
                }
            }
            spec.eventfds = Some(guest.eventfds.iter().map(|n| n.get_ref().clone()).collect());
            spec.inherit_network = guest.inherit_network;
            spec.allow_ip_name_lookup = guest.allow_ip_name_lookup;
            for addr in &guest.tcplisten {
                let parsed = addr
                    .get_ref()
                    .parse::<std::net::SocketAddr>()
                    .map_err(|_| {
                        at(
                            Some(addr.span()),
                            &format!(
                                "`tcplisten`: {} is not an address and port such as 127.0.0.1:8080",
                                quoted(addr.get_ref())
                            ),
                        )
                    })?;
                // One listening socket per address, shared by the guests
                // that list it.
                let listener = match listeners.get(&parsed) {
                    Some(listener) => std::sync::Arc::clone(listener),
                    None => {
                        let bound = std::net::TcpListener::bind(parsed).map_err(|e| {
                            at(
                                Some(addr.span()),
                                &format!("`tcplisten`: cannot listen on {parsed}: {e}"),
                            )
                        })?;
                        let bound = std::sync::Arc::new(bound);
                        listeners.insert(parsed, std::sync::Arc::clone(&bound));
                        bound
                    }
                };
                spec.tcplisten.push(listener);
            }
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
            let count_span = guest.count.as_ref().map(Spanned::span);
            if count == 0 {
                return Err(at(count_span, "`count`: must be at least 1"));
            }
            // Checked before any copy is made: `count = 4294967295` must
            // not ask for terabytes of guest specs.
            let total = usize::try_from(count)
                .ok()
                .and_then(|count| count.checked_add(guests.len()))
                .filter(|total| *total <= MAX_GUESTS);
            let Some(total) = total else {
                return Err(at(
                    count_span,
                    &format!(
                        "`count`: {count} more guests, after {} before: a run has at most \
                         {MAX_GUESTS} guests",
                        guests.len()
                    ),
                ));
            };
            if spec.stdin && count > 1 {
                let span = guest.stdin.as_ref().map(Spanned::span);
                return Err(at(
                    span,
                    "`stdin`: only one guest can read stdin, not `count` copies",
                ));
            }
            guests.reserve(total - guests.len());
            guests.extend(std::iter::repeat_n(spec, total - guests.len()));
        }
        Ok(RunFile { eventfds, guests })
    }
}

/// The text of the run file at `path`: at most [`MAX_RUN_FILE_BYTES`] are
/// read, from a regular file or a pipe alike.
fn read_text(path: &Path) -> Result<String, String> {
    let shown = || shortened(&path.display().to_string(), MAX_QUOTED_CHARS);
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read run file {}: {e}", shown()))?;
    let mut bytes = Vec::new();
    file.take(MAX_RUN_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read run file {}: {e}", shown()))?;
    if bytes.len() as u64 > MAX_RUN_FILE_BYTES {
        return Err(format!(
            "run file {}: larger than {MAX_RUN_FILE_BYTES} bytes, the most a run file may hold",
            shown()
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "run file {}: not UTF-8 text (at byte {})",
            shown(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Whether the guest file `file` can be read: it exists and is a regular
/// file (a device or a FIFO would hold the runner before any deadline).
fn check_guest_file(file: &Path) -> Result<(), String> {
    let shown = shortened(&file.display().to_string(), MAX_QUOTED_CHARS);
    match std::fs::metadata(file) {
        Ok(metadata) if metadata.is_file() => Ok(()),
        Ok(_) => Err(format!("not a regular file: {shown}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!("no such file: {shown}")),
        Err(e) => Err(format!("cannot read {shown}: {e}")),
    }
}

/// Characters of a message about a run file, before the quoted line: a
/// parser's message may itself quote the input.
const MAX_MESSAGE_CHARS: usize = 400;

/// `FILE:LINE:COLUMN: MESSAGE`, with the line quoted, for the byte range
/// `span` of `text`. The message and the quoted line are bounded (a
/// window of the line around the column), whatever the file holds.
fn located(path: &Path, text: &str, span: Option<Range<usize>>, message: &str) -> String {
    let file = shortened(&path.display().to_string(), MAX_QUOTED_CHARS);
    let Some(span) = span else {
        return format!("{file}: {}", shortened(message, MAX_MESSAGE_CHARS));
    };
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let before = text.get(..start).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    let rest = text.get(line_start..).unwrap_or_default();
    let source = rest.lines().next().unwrap_or_default();
    // Name the key when the message does not: the one this line sets.
    let key = source
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| !key.is_empty() && !message.contains(&format!("`{key}`")));
    let message = match key {
        Some(key) => format!("{}: {message}", quoted(key)),
        None => message.to_string(),
    };
    format!(
        "{file}:{line}:{column}: {}\n  {line} | {}",
        shortened(&message, MAX_MESSAGE_CHARS),
        window(source, column - 1)
    )
}

/// Characters of a quoted line shown on each side of the column at fault.
const WINDOW_CHARS: usize = 60;

/// `line` as quoted under a message: whole when short, else the
/// [`WINDOW_CHARS`] characters on each side of the character `column`
/// (counted from 0), with `…` where it was cut.
fn window(line: &str, column: usize) -> String {
    let first = column.saturating_sub(WINDOW_CHARS);
    let cut_before = first > 0;
    // One more than fits, so that `shortened` marks a cut.
    let shown = line
        .chars()
        .skip(first)
        .take(2 * WINDOW_CHARS + 1)
        .collect::<String>();
    let shown = shortened(&shown, 2 * WINDOW_CHARS);
    if cut_before {
        format!("…{shown}")
    } else {
        shown
    }
}

/// The largest char boundary of `text` at or before `index`.
fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}
