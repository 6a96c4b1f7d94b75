//! Conversions between the kernel's types and the ones each WIT interface
//! generates for them, written once for all three: WASI 0.2's `types`
//! (async and [`sync`](crate::p2::bindings::sync) bindings) and the
//! experimental `async-types` ([`crate::p3`]), which repeats the small
//! types of `types` field for field.
//!
//! bindgen gives each interface, and each of its two bindings of `types`,
//! types of its own (it can remap resources to one Rust type, not enums,
//! flags or records), so the same conversion is stamped out for each by
//! one macro, as wasmtime-wasi-http keeps its p2 and p3 conversions beside
//! each other.

/// `From` the kernel's [`Errno`](crate::Errno) and [`Info`](crate::Info)
/// to the interface's `error-code` and `info`, and from its
/// `create-flags` to [`CreateFlags`](crate::CreateFlags).
macro_rules! wit_conversions {
    ($($wit:ident)::+) => {
        impl From<crate::Errno> for $($wit)::+::ErrorCode {
            fn from(errno: crate::Errno) -> Self {
                use crate::Errno;
                use $($wit)::+::ErrorCode;
                match errno {
                    Errno::Inval => ErrorCode::InvalidArgument,
                    Errno::Again => ErrorCode::WouldBlock,
                    Errno::Mfile => ErrorCode::TooManyDescriptors,
                    Errno::Nfile => ErrorCode::TooManyDescriptions,
                }
            }
        }

        impl From<$($wit)::+::CreateFlags> for crate::CreateFlags {
            fn from(flags: $($wit)::+::CreateFlags) -> Self {
                use crate::CreateFlags;
                use $($wit)::+::CreateFlags as Wit;
                // The WIT numbers its flags by position; ours are Linux's bits.
                let mut linux = CreateFlags::empty();
                linux.set(CreateFlags::CLOEXEC, flags.contains(Wit::CLOEXEC));
                linux.set(CreateFlags::NONBLOCK, flags.contains(Wit::NONBLOCK));
                linux.set(CreateFlags::SEMAPHORE, flags.contains(Wit::SEMAPHORE));
                linux
            }
        }

        impl From<crate::Info> for $($wit)::+::Info {
            fn from(info: crate::Info) -> Self {
                $($wit)::+::Info {
                    id: info.id,
                    count: info.count,
                    semaphore: info.semaphore,
                    nonblocking: info.nonblocking,
                    cloexec: info.cloexec,
                }
            }
        }
    };
}

wit_conversions!(crate::p2::bindings::types);
wit_conversions!(crate::p2::bindings::sync::types);
wit_conversions!(crate::p3::bindings::async_types);

#[cfg(test)]
mod tests {
    use crate::{CreateFlags, Errno, Info};

    /// Checks one interface's conversions: every flag to its Linux bit,
    /// every errno to its case, every field of `info`.
    macro_rules! check {
        ($($wit:ident)::+) => {{
            use $($wit)::+ as wit;
            for (flag, linux) in [
                (wit::CreateFlags::CLOEXEC, CreateFlags::CLOEXEC),
                (wit::CreateFlags::NONBLOCK, CreateFlags::NONBLOCK),
                (wit::CreateFlags::SEMAPHORE, CreateFlags::SEMAPHORE),
            ] {
                assert_eq!(CreateFlags::from(flag), linux);
            }
            assert_eq!(CreateFlags::from(wit::CreateFlags::all()), CreateFlags::all());
            assert_eq!(CreateFlags::from(wit::CreateFlags::empty()), CreateFlags::empty());
            for (errno, code) in [
                (Errno::Inval, wit::ErrorCode::InvalidArgument),
                (Errno::Again, wit::ErrorCode::WouldBlock),
                (Errno::Mfile, wit::ErrorCode::TooManyDescriptors),
                (Errno::Nfile, wit::ErrorCode::TooManyDescriptions),
            ] {
                assert_eq!(wit::ErrorCode::from(errno), code);
            }
            let info = Info {
                id: 7,
                count: u64::MAX - 1,
                semaphore: true,
                nonblocking: false,
                cloexec: true,
            };
            let wit::Info { id, count, semaphore, nonblocking, cloexec } = info.into();
            assert_eq!(
                (id, count, semaphore, nonblocking, cloexec),
                (7, u64::MAX - 1, true, false, true)
            );
        }};
    }

    #[test]
    fn every_interface_converts_the_same_way() {
        check!(crate::p2::bindings::types);
        check!(crate::p2::bindings::sync::types);
        check!(crate::p3::bindings::async_types);
    }
}
