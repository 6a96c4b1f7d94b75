//! The command line's own syntax: `--eventfd` specs, and the WASI options
//! spelled as `wasmtime run` spells them (`--dir`, `--env`, `-S`).

use std::path::PathBuf;
use std::str::FromStr;

use wasi_eventfd::runner::DirGrant;
use wasi_eventfd::CreateFlags;

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
            .ok_or_else(|| format!("bad eventfd spec `{spec}`: {expected}"))?;
        if name.is_empty() {
            return Err(format!("bad eventfd spec `{spec}`: the name is empty"));
        }
        let mut parts = rest.split(',');
        let initval = parts.next().unwrap_or_default();
        let initval = initval.parse::<u32>().map_err(|_| {
            format!("bad eventfd spec `{spec}`: initial value `{initval}` is not a number from 0 to 4294967295")
        })?;
        let mut flags = CreateFlags::default();
        for flag in parts {
            match flag {
                "semaphore" => flags |= CreateFlags::SEMAPHORE,
                "nonblock" => flags |= CreateFlags::NONBLOCK,
                other => {
                    return Err(format!(
                        "bad eventfd spec `{spec}`: unknown flag `{other}` (known: semaphore, nonblock)"
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
        return Err(format!("`{text}` is not HOST_DIR[::GUEST_DIR]"));
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
    if name.is_empty() {
        return Err(format!("`{text}` is not NAME[=VALUE]"));
    }
    Ok(EnvVar {
        name: name.to_string(),
        value,
    })
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
        if key == "help" {
            // As `wasmtime run -S help`: the list, and nothing run.
            println!("{}", wasi_help());
            std::process::exit(0);
        }
        let switch = WASI_SWITCHES
            .iter()
            .find(|(name, ..)| *name == key)
            .map(|(_, switch, _)| *switch)
            .ok_or_else(|| format!("unknown -S / --wasi option: {key} (-S help lists them)"))?;
        let on = match value {
            None | Some("y") | Some("yes") | Some("true") => true,
            Some("n") | Some("no") | Some("false") => false,
            Some(other) => {
                return Err(format!(
                    "failed to parse -S option `{item}`: unknown boolean flag `{other}`, only \
                     yes,no,<nothing> accepted"
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
    help
}

/// What the `-S` arguments turn on, the last word on each switch winning.
#[derive(Debug, Clone, Copy, Default)]
pub struct WasiGrants {
    pub inherit_env: bool,
    pub inherit_network: bool,
    pub allow_ip_name_lookup: bool,
}

impl WasiGrants {
    pub fn from_switches(all: &[WasiSwitches]) -> Self {
        let mut grants = WasiGrants::default();
        for (switch, on) in all.iter().flat_map(|s| &s.0) {
            match switch {
                WasiSwitch::InheritEnv => grants.inherit_env = *on,
                WasiSwitch::InheritNetwork => grants.inherit_network = *on,
                WasiSwitch::AllowIpNameLookup => grants.allow_ip_name_lookup = *on,
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
                "environment variable `{name}` is not valid UTF-8, so -S inherit-env cannot pass \
                 it on"
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
/// (a variable given twice keeps its last value; `NAME` alone takes the
/// host's value, and is left out when the host has none).
pub fn guest_env(inherit: bool, vars: &[EnvVar]) -> Result<Vec<(String, String)>, String> {
    let mut env = if inherit { host_env()? } else { Vec::new() };
    for var in vars {
        let value = match &var.value {
            Some(value) => value.clone(),
            None => match std::env::var_os(&var.name) {
                None => continue,
                Some(value) => value.into_string().map_err(|_| {
                    format!("environment variable `{}` is not valid UTF-8", var.name)
                })?,
            },
        };
        env.retain(|(name, _)| *name != var.name);
        env.push((var.name.clone(), value));
    }
    Ok(env)
}
