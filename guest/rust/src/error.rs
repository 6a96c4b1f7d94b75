//! The error of every fallible operation, for both worlds.

use std::fmt;
use std::io;

/// Why an eventfd operation failed.
///
/// The first four are the interface's `error-code`s, each standing for a
/// Linux errno; [`Error::NotPreopened`] is this crate's, for
/// [`EventFd::preopened`](crate::EventFd::preopened). Each maps to an
/// [`io::ErrorKind`] ([`Error::kind`]), and `?` turns it into an
/// [`io::Error`] (which keeps it: `io::Error::get_ref` and `downcast` give
/// it back).
///
/// It displays as the interface spells the code (`would-block`), which is
/// also what the Python and JavaScript bindings show. A missing preopen
/// displays, and also debug-prints, as a sentence naming the eventfd and
/// how `wasi-eventfd run` grants it: that is what a `main` returning
/// `std::io::Result` prints when `?` passed the error up (`Error: Custom {
/// kind: NotFound, error: no eventfd named "events" was granted to this
/// guest (…) }`).
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// `EINVAL`: an argument is not acceptable: writing
    /// `0xffff_ffff_ffff_ffff`.
    InvalidArgument,
    /// `EAGAIN`: the description is non-blocking and the operation would
    /// have to wait (a read of a zero counter, a write that does not fit).
    WouldBlock,
    /// `EMFILE`: this guest holds as many descriptors as the host allows it.
    TooManyDescriptors,
    /// `ENFILE`: the host holds as many descriptions as it allows.
    TooManyDescriptions,
    /// The host shares no eventfd under this name with the guest (with
    /// `wasi-eventfd run`: no `--eventfd NAME=…`, or the guest's entry in a
    /// run file does not list it in `eventfds`).
    NotPreopened(String),
    /// Another errno of preview 1 (its number), on `wasm32-wasip1` only:
    /// none that an eventfd's own calls give.
    #[cfg(all(target_os = "wasi", target_env = "p1"))]
    Os(i32),
}

impl Error {
    /// The [`io::ErrorKind`] this error stands for: `WouldBlock`,
    /// `InvalidInput`, `QuotaExceeded` for both limits (a per-guest and a
    /// host-wide quota, as `EMFILE` and `ENFILE` are), `NotFound` for a
    /// missing preopen.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::InvalidArgument => io::ErrorKind::InvalidInput,
            Error::WouldBlock => io::ErrorKind::WouldBlock,
            Error::TooManyDescriptors | Error::TooManyDescriptions => io::ErrorKind::QuotaExceeded,
            Error::NotPreopened(_) => io::ErrorKind::NotFound,
            #[cfg(all(target_os = "wasi", target_env = "p1"))]
            Error::Os(code) => io::Error::from_raw_os_error(*code).kind(),
        }
    }

    /// The Linux errno the interface's code stands for (`"EAGAIN"`, …);
    /// `None` for [`Error::NotPreopened`].
    pub fn errno(&self) -> Option<&'static str> {
        match self {
            Error::InvalidArgument => Some("EINVAL"),
            Error::WouldBlock => Some("EAGAIN"),
            Error::TooManyDescriptors => Some("EMFILE"),
            Error::TooManyDescriptions => Some("ENFILE"),
            Error::NotPreopened(_) => None,
            #[cfg(all(target_os = "wasi", target_env = "p1"))]
            Error::Os(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument => f.write_str("invalid-argument"),
            Error::WouldBlock => f.write_str("would-block"),
            Error::TooManyDescriptors => f.write_str("too-many-descriptors"),
            Error::TooManyDescriptions => f.write_str("too-many-descriptions"),
            Error::NotPreopened(name) => write!(
                f,
                "no eventfd named {name:?} was granted to this guest (wasi-eventfd run \
                 --eventfd {name}=0 …, or in a run file [eventfd.{name}] and \
                 eventfds = [{name:?}] in the guest's [[guest]])"
            ),
            #[cfg(all(target_os = "wasi", target_env = "p1"))]
            Error::Os(code) => write!(f, "{}", io::Error::from_raw_os_error(*code)),
        }
    }
}

/// As derived for the interface's codes (`WouldBlock`); a missing preopen
/// shows its [`Display`](fmt::Display) sentence, which names the fix.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument => f.write_str("InvalidArgument"),
            Error::WouldBlock => f.write_str("WouldBlock"),
            Error::TooManyDescriptors => f.write_str("TooManyDescriptors"),
            Error::TooManyDescriptions => f.write_str("TooManyDescriptions"),
            Error::NotPreopened(_) => fmt::Display::fmt(self, f),
            #[cfg(all(target_os = "wasi", target_env = "p1"))]
            Error::Os(code) => write!(f, "Os({code})"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(error: Error) -> io::Error {
        io::Error::new(error.kind(), error)
    }
}

/// The interface's codes, generated twice (the async world repeats them).
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
macro_rules! from_error_code {
    ($code:ty) => {
        impl From<$code> for Error {
            fn from(code: $code) -> Error {
                type Code = $code;
                match code {
                    Code::InvalidArgument => Error::InvalidArgument,
                    Code::WouldBlock => Error::WouldBlock,
                    Code::TooManyDescriptors => Error::TooManyDescriptors,
                    Code::TooManyDescriptions => Error::TooManyDescriptions,
                }
            }
        }
    };
}

#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
from_error_code!(crate::bindings::wasi_eventfd::eventfd::types::ErrorCode);
#[cfg(all(feature = "p3", not(all(target_os = "wasi", target_env = "p1"))))]
from_error_code!(crate::p3::bindings::wasi_eventfd::eventfd::async_types::ErrorCode);

/// The result of an eventfd operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
