//! What the `EventFd`s of both worlds share: the type, its constructors and
//! the calls that never wait. Each world's module adds its reads, writes
//! and readiness (blocking and pollables, or futures).

/// Defines `EventFd` over the generated resource `$raw` of one world, whose
/// preopens come from `$get_eventfds` and whose flags and snapshot types
/// are `$flags` and `$info`.
macro_rules! eventfd_type {
    (
        $(#[$doc:meta])*
        raw: $raw:ty,
        get_eventfds: $get_eventfds:path,
        flags: $flags:ty,
        info: $info:ty $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct EventFd {
            raw: $raw,
        }

        impl EventFd {
            /// `eventfd(initval, flags)`: a new description with counter
            /// `initval` and a descriptor of it.
            pub fn new(initval: u32, flags: $flags) -> $crate::Result<EventFd> {
                Ok(<$raw>::create(initval, flags)?.into())
            }

            /// The eventfd the host shares with this guest under `name`, as
            /// a new descriptor;
            /// [`Error::NotPreopened`](crate::Error::NotPreopened) if there
            /// is none.
            pub fn preopened(name: &str) -> $crate::Result<EventFd> {
                Self::preopens()
                    .into_iter()
                    .find_map(|(n, fd)| (n == name).then_some(fd))
                    .ok_or_else(|| $crate::Error::NotPreopened(name.to_string()))
            }

            /// Every eventfd the host shares with this guest, by name; each
            /// call hands out new descriptors of the same descriptions.
            pub fn preopens() -> Vec<(String, EventFd)> {
                $get_eventfds()
                    .into_iter()
                    .map(|(raw, name)| (name, raw.into()))
                    .collect()
            }

            /// `dup(2)`: another descriptor of the same description, with
            /// close-on-exec clear.
            pub fn try_clone(&self) -> $crate::Result<EventFd> {
                Ok(self.raw.dup()?.into())
            }

            /// `fcntl(F_SETFL, O_NONBLOCK)`: on the description, so every
            /// descriptor of it, in every guest, sees the change.
            pub fn set_nonblocking(&self, nonblocking: bool) {
                self.raw.set_nonblocking(nonblocking);
            }

            /// `fcntl(F_SETFD, FD_CLOEXEC)`: on this descriptor only.
            pub fn set_cloexec(&self, cloexec: bool) {
                self.raw.set_cloexec(cloexec);
            }

            /// The state of this descriptor and its description: `id` (the
            /// same for every descriptor of the description, in both
            /// worlds), `count`, `semaphore`, `nonblocking`, `cloexec`.
            pub fn info(&self) -> $info {
                self.raw.info()
            }

            /// The generated resource, for the bindings.
            pub fn as_raw(&self) -> &$raw {
                &self.raw
            }

            /// The generated resource, which then owns the descriptor.
            pub fn into_raw(self) -> $raw {
                self.raw
            }
        }

        impl From<$raw> for EventFd {
            fn from(raw: $raw) -> EventFd {
                EventFd { raw }
            }
        }
    };
}
