//! The command line's own syntax: `--eventfd` specs, and the WASI options
//! spelled as `wasmtime run` spells them (`--dir`, `--env`, `-S`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;

use wasi_eventfd::runner::DirGrant;
use wasi_eventfd::CreateFlags;

/// Guests in one run, copies and `--with` guests included: a run file's
/// `count` cannot ask for billions of guest specs up front.
pub const MAX_GUESTS: usize = 100_000;

pub use wasi_eventfd::runner::{shortened, MAX_QUOTED_CHARS};

/// `text` in backticks for a message: its first [`MAX_QUOTED_CHARS`]
/// characters (then `…`), control characters escaped so that the message
/// stays on its line.
pub fn quoted(text: &str) -> String {
    format!("`{}`", shortened(text, MAX_QUOTED_CHARS))
}

/// A named eventfd that the runner creates and shares with the guests:
/// `NAME=INITVAL[,semaphore][,nonblock]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventfdSpec {
    /// The name guests find it under in `get-eventfds`.
    pub name: String,
    /// The counter's initial value.
    pub initval: u32,
    /// Semaphore and non-blocking modes (close-on-exec is per descriptor
    /// and so not part of a shared eventfd).
    pub flags: CreateFlags,
}

impl FromStr for EventfdSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let expected = "expected NAME=INITVAL[,semaphore][,nonblock]";
        let (name, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("bad eventfd spec {}: {expected}", quoted(spec)))?;
        if name.is_empty() {
            return Err(format!(
                "bad eventfd spec {}: the name is empty",
                quoted(spec)
            ));
        }
        let mut parts = rest.split(',');
        let initval = parts.next().unwrap_or_default();
        let initval = initval.parse::<u32>().map_err(|_| {
            format!(
                "bad eventfd spec {}: initial value {} is not a number from 0 to 4294967295",
                quoted(spec),
                quoted(initval)
            )
        })?;
        let mut flags = CreateFlags::default();
        for flag in parts {
            match flag {
                "semaphore" => flags |= CreateFlags::SEMAPHORE,
                "nonblock" => flags |= CreateFlags::NONBLOCK,
                other => {
                    return Err(format!(
                        "bad eventfd spec {}: unknown flag {} (known: semaphore, nonblock)",
                        quoted(spec),
                        quoted(other)
                    ))
                }
            }
        }
        Ok(EventfdSpec {
            name: name.to_string(),
            initval,
            flags,
        })
    }
}

/// `--dir HOST_DIR[::GUEST_DIR]`: without `::GUEST_DIR`, the guest sees the
/// directory under the host's name for it (as `wasmtime run`).
pub fn parse_dir(text: &str) -> Result<DirGrant, String> {
    let (host, guest) = text.split_once("::").unwrap_or((text, text));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("{} is not HOST_DIR[::GUEST_DIR]", quoted(text)));
    }
    Ok(DirGrant {
        host: PathBuf::from(host),
        guest: guest.to_string(),
    })
}

/// `--env NAME=VALUE`, or `--env NAME` to pass on the host's value.
#[derive(Debug, Clone)]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
}

pub fn parse_env(text: &str) -> Result<EnvVar, String> {
    let (name, value) = match text.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (text, None),
    };
    check_env_name(name).map_err(|e| format!("{} is not NAME[=VALUE]: {e}", quoted(text)))?;
    Ok(EnvVar {
        name: name.to_string(),
        value,
    })
}

/// Whether `name` can name an environment variable: POSIX's `environ`
/// holds `NAME=VALUE` strings, so a name is not empty and has no `=`, and
/// neither a name nor a value has a NUL (WASI preview 1 hands guests
/// NUL-terminated strings). The command line cannot carry a NUL; a run
/// file can.
pub fn check_env_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("the name is empty")
    } else if name.contains('=') {
        Err("a name cannot hold `=`")
    } else if name.contains('\0') {
        Err("a name cannot hold a NUL character")
    } else {
        Ok(())
    }
}

/// The `-S` switches this runner knows: the WASI ones of `wasmtime run`
/// that make sense here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasiSwitch {
    /// `-S inherit-env`: every host environment variable.
    InheritEnv,
    /// `-S inherit-network`: any address of the host's network.
    InheritNetwork,
    /// `-S allow-ip-name-lookup`: resolving host names.
    AllowIpNameLookup,
    /// `-S tcplisten=ADDR`: a TCP listener on ADDR, preopened for preview 1
    /// guests at the fds after the `--dir` preopens, in order (3, 4, ...
    /// without them).
    TcpListen(std::net::SocketAddr),
}

const WASI_SWITCHES: &[(&str, WasiSwitch, &str)] = &[
    (
        "inherit-env",
        WasiSwitch::InheritEnv,
        "pass every environment variable of the host to the guests",
    ),
    (
        "inherit-network",
        WasiSwitch::InheritNetwork,
        "let the guests use the host's network (any address, TCP and UDP)",
    ),
    (
        "allow-ip-name-lookup",
        WasiSwitch::AllowIpNameLookup,
        "let the guests resolve host names",
    ),
];

/// One `-S` argument: a comma-separated list of `KEY[=y|n]`, parsed as
/// `wasmtime run` parses it (`y`, `yes`, `true`, nothing: on; `n`, `no`,
/// `false`: off).
#[derive(Debug, Clone)]
pub struct WasiSwitches(pub Vec<(WasiSwitch, bool)>);

pub fn parse_wasi(text: &str) -> Result<WasiSwitches, String> {
    let mut switches = Vec::new();
    for item in text.split(',') {
        let (key, value) = match item.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (item, None),
        };
        if key == "tcplisten" {
            // A valued key, as wasmtime's: the address to listen on.
            let addr = value.unwrap_or("");
            let addr = addr.parse::<std::net::SocketAddr>().map_err(|_| {
                format!(
                    "failed to parse -S option {}: {} is not an address and port such as \
                     127.0.0.1:8080 or [::1]:8080",
                    quoted(item),
                    quoted(addr)
                )
            })?;
            switches.push((WasiSwitch::TcpListen(addr), true));
            continue;
        }
        if key == "help" {
            // As `wasmtime run -S help`: the list, and nothing run. A
            // closed stdout loses the list, nothing else.
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout(), "{}", wasi_help());
            std::process::exit(0);
        }
        let switch = WASI_SWITCHES
            .iter()
            .find(|(name, ..)| *name == key)
            .map(|(_, switch, _)| *switch)
            .ok_or_else(|| {
                format!(
                    "unknown -S / --wasi option: {} (-S help lists them)",
                    quoted(key)
                )
            })?;
        let on = match value {
            None | Some("y") | Some("yes") | Some("true") => true,
            Some("n") | Some("no") | Some("false") => false,
            Some(other) => {
                return Err(format!(
                    "failed to parse -S option {}: unknown boolean flag {}, only \
                     yes,no,<nothing> accepted",
                    quoted(item),
                    quoted(other)
                ))
            }
        };
        switches.push((switch, on));
    }
    Ok(WasiSwitches(switches))
}

fn wasi_help() -> String {
    let mut help = String::from("the -S / --wasi options (KEY[=y|n], comma-separated):");
    for (name, _, what) in WASI_SWITCHES {
        help.push_str(&format!("\n  -S {name:<22} {what}"));
    }
    help.push_str(&format!(
        "\n  -S {:<22} {}",
        "tcplisten=ADDR", "a TCP listener on ADDR for preview 1 guests (the fds after --dir ones)"
    ));
    help
}

/// What the `-S` arguments turn on, the last word on each switch winning.
#[derive(Debug, Clone, Default)]
pub struct WasiGrants {
    pub inherit_env: bool,
    pub inherit_network: bool,
    pub allow_ip_name_lookup: bool,
    /// `-S tcplisten` addresses, in order (each one a listener).
    pub tcplisten: Vec<std::net::SocketAddr>,
}

impl WasiGrants {
    pub fn from_switches(all: &[WasiSwitches]) -> Self {
        let mut grants = WasiGrants::default();
        for (switch, on) in all.iter().flat_map(|s| &s.0) {
            match switch {
                WasiSwitch::InheritEnv => grants.inherit_env = *on,
                WasiSwitch::InheritNetwork => grants.inherit_network = *on,
                WasiSwitch::AllowIpNameLookup => grants.allow_ip_name_lookup = *on,
                WasiSwitch::TcpListen(addr) => grants.tcplisten.push(*addr),
            }
        }
        grants
    }
}

/// The host's environment variables, each as UTF-8 (as WASI needs), or an
/// error naming the first that is not.
pub fn host_env() -> Result<Vec<(String, String)>, String> {
    std::env::vars_os()
        .map(
            |(name, value)| match (name.into_string(), value.into_string()) {
                (Ok(name), Ok(value)) => Ok((name, value)),
                (Ok(name), Err(_)) => Err(format!(
                "environment variable {} is not valid UTF-8, so -S inherit-env cannot pass it on",
                quoted(&name)
            )),
                (Err(name), _) => Err(format!(
                "environment variable name {name:?} is not valid UTF-8, so -S inherit-env cannot \
                 pass it on"
            )),
            },
        )
        .collect()
}

/// A guest's environment: every host variable with `inherit`, then `vars`
/// (a variable given twice keeps its last value, in the place of its last
/// mention; `NAME` alone takes the host's value, and is left out when the
/// host has none). Fails on a name [`check_env_name`] refuses, a value with
/// a NUL, or a host value that is not UTF-8.
pub fn guest_env(inherit: bool, vars: &[EnvVar]) -> Result<Vec<(String, String)>, String> {
    let mut env = if inherit { host_env()? } else { Vec::new() };
    for var in vars {
        check_env_name(&var.name)
            .map_err(|e| format!("environment variable {}: {e}", quoted(&var.name)))?;
        let value = match &var.value {
            Some(value) => value.clone(),
            None => match std::env::var_os(&var.name) {
                None => continue,
                Some(value) => value.into_string().map_err(|_| {
                    format!(
                        "environment variable {} is not valid UTF-8",
                        quoted(&var.name)
                    )
                })?,
            },
        };
        if value.contains('\0') {
            return Err(format!(
                "environment variable {}: a value cannot hold a NUL character",
                quoted(&var.name)
            ));
        }
        env.push((var.name.clone(), value));
    }
    // Keep each name's last mention only: one pass from the end, so that
    // thousands of variables cost no more than reading them.
    let mut seen = HashSet::with_capacity(env.len());
    let mut kept = Vec::with_capacity(env.len());
    for (name, value) in env.into_iter().rev() {
        if seen.insert(name.clone()) {
            kept.push((name, value));
        }
    }
    kept.reverse();
    Ok(kept)
}
