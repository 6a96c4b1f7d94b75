//! Loading guests: reading, compiling (or finding compiled) and linking.

use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use wasmtime::component::Component;
use wasmtime::{InstancePre, Module};
use wasmtime_wasi::p2::bindings::CommandPre;

use super::engines::Engines;
use super::guest::{CoreGuestState, GuestState};
use super::outcome::root_cause;

/// A guest ready to instantiate: a component or a core module.
#[derive(Clone)]
pub enum LoadedGuest {
    /// A `wasi:cli/command` component (`wasi:cli/run@0.2`).
    Component(CommandPre<GuestState>),
    /// A component exporting `wasi:cli/run@0.3.0`, run with component-model
    /// async; its guest tasks run concurrently within it.
    AsyncComponent(wasmtime_wasi::p3::bindings::CommandPre<GuestState>),
    /// A core module with a `_start` export (WASI preview 1).
    Module(InstancePre<CoreGuestState>),
}

/// An error that stops guests from starting: a file that is missing or not
/// a runnable guest, a directory that cannot be opened. Its message names
/// the file and the problem.
#[derive(Debug)]
pub struct LoadError(pub(super) String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Guests already compiled, by path: `--with w.wasm --with w.wasm` and
/// repeated runs compile each file once.
#[derive(Default)]
pub(super) struct Loaded {
    compiled: Mutex<HashMap<PathBuf, LoadedGuest>>,
    /// Files read before there was an engine to compile them (to size the
    /// pool), kept so that compiling does not read them again.
    read: Mutex<HashMap<PathBuf, Vec<u8>>>,
}

impl Loaded {
    /// Loads and links a guest: a component, a core module, or either as
    /// WebAssembly text.
    pub(super) fn load(&self, engines: &Engines, path: &Path) -> Result<LoadedGuest, LoadError> {
        let cached = locked(&self.compiled).get(path).cloned();
        if let Some(guest) = cached {
            return Ok(guest);
        }
        let bytes = match locked(&self.read).remove(path) {
            Some(bytes) => bytes,
            None => read_guest(path)?,
        };
        let guest = compile(engines, path, &bytes)?;
        locked(&self.compiled).insert(path.to_path_buf(), guest.clone());
        Ok(guest)
    }

    /// `look` at the binary of the guest file at `path`, read now (once)
    /// and kept for compiling it later.
    pub(super) fn peek<R>(
        &self,
        path: &Path,
        look: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, LoadError> {
        let mut read = locked(&self.read);
        if let Some(bytes) = read.get(path) {
            return Ok(look(bytes));
        }
        let bytes = read_guest(path)?;
        let seen = look(&bytes);
        read.insert(path.to_path_buf(), bytes);
        Ok(seen)
    }
}

fn locked<T>(map: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section is one lookup, insert or removal: a panic
    // elsewhere cannot leave the map half-updated.
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Guest files larger than this are refused before they are read.
const MAX_GUEST_BYTES: u64 = 1 << 30;

/// The binary WebAssembly of the guest file at `path` (text is parsed).
/// Only a regular file of at most [`MAX_GUEST_BYTES`] is read, and no
/// more of it than its size says: a FIFO or `/dev/zero` would otherwise
/// hold the runner before any deadline starts, and a file under `/proc`
/// that reports size 0 can go on for ever.
fn read_guest(path: &Path) -> Result<Vec<u8>, LoadError> {
    let shown = path.display();
    // Checked by path first: opening a FIFO waits for a writer.
    let metadata = std::fs::metadata(path).map_err(|e| LoadError(format!("{shown}: {e}")))?;
    if !metadata.is_file() {
        return Err(LoadError(format!("{shown}: not a regular file")));
    }
    let file = std::fs::File::open(path).map_err(|e| LoadError(format!("{shown}: {e}")))?;
    // What is read is what was opened, whatever the path names by now.
    let size = file
        .metadata()
        .map_err(|e| LoadError(format!("{shown}: {e}")))?
        .len();
    if size > MAX_GUEST_BYTES {
        return Err(LoadError(format!(
            "{shown}: {size} bytes is too large for a guest (at most {MAX_GUEST_BYTES})"
        )));
    }
    // A page past the size tells a file that holds more than it says (a
    // page, not a byte: `/proc/self/pagemap` refuses reads that are not
    // whole 8-byte entries).
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(size + 4096)
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError(format!("{shown}: {e}")))?;
    if bytes.len() as u64 > size {
        return Err(LoadError(format!(
            "{shown}: holds more than the {size} bytes its size says (a file under /proc or \
             /sys, or one still being written): not read as a guest"
        )));
    }
    // Binary WebAssembly passes through; text is parsed.
    match wat::parse_bytes(&bytes) {
        Ok(std::borrow::Cow::Borrowed(_)) => Ok(bytes),
        Ok(std::borrow::Cow::Owned(parsed)) => Ok(parsed),
        Err(e) => Err(LoadError(format!(
            "{shown}: not a WebAssembly file (nor valid WebAssembly text): {}",
            first_line(&e)
        ))),
    }
}

fn compile(engines: &Engines, path: &Path, bytes: &[u8]) -> Result<LoadedGuest, LoadError> {
    let shown = path.display();
    let fail = |what: &str, e: &dyn fmt::Display| LoadError(format!("{shown}: {what}: {e}"));
    if wasmparser::Parser::is_component(bytes) {
        // A WASI 0.2 command that needs nothing of component-model async
        // runs on the faster engine. Anything else fails there early
        // (validation rejects the async built-ins, linking the async world)
        // and gets the concurrent engine.
        let plain = Component::new(&engines.engine, bytes)
            .and_then(|component| engines.linker.instantiate_pre(&component))
            .and_then(CommandPre::new);
        if let Ok(command) = plain {
            return Ok(LoadedGuest::Component(command));
        }
        let component = Component::new(&engines.concurrent_engine, bytes)
            .map_err(|e| fail("not a valid WebAssembly component", &root_cause(&e)))?;
        let pre = engines
            .concurrent_linker
            .instantiate_pre(&component)
            .map_err(|e| fail("cannot be linked", &whole_chain(&e)))?;
        // `wasi:cli/run@0.3.0` wins when a component exports both, as in
        // `wasmtime run`: a Rust guest's empty `main` adds the 0.2 one.
        if let Ok(command) = wasmtime_wasi::p3::bindings::CommandPre::new(pre.clone()) {
            return Ok(LoadedGuest::AsyncComponent(command));
        }
        let command = CommandPre::new(pre)
            .map_err(|e| fail("not a wasi:cli/command component", &root_cause(&e)))?;
        Ok(LoadedGuest::Component(command))
    } else {
        let module = Module::new(&engines.engine, bytes)
            .map_err(|e| fail("not a valid WebAssembly module", &root_cause(&e)))?;
        if module.get_export("_start").is_none() {
            return Err(LoadError(format!(
                "{shown}: a core module needs a `_start` export"
            )));
        }
        let pre = engines
            .core_linker
            .instantiate_pre(&module)
            .map_err(|e| fail("cannot be linked", &whole_chain(&e)))?;
        Ok(LoadedGuest::Module(pre))
    }
}

fn first_line(error: &dyn fmt::Display) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Every cause of `error`, outermost first: a link error's outer causes
/// name the import that is missing, its root only says what is wrong.
fn whole_chain(error: &wasmtime::Error) -> String {
    error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
