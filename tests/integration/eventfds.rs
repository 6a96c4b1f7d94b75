//! Named eventfds for runners, written as for `--eventfd`.

/// Creates the named eventfd of `spec` in `runner`, written as for
/// `--eventfd` (`NAME=INITVAL[,semaphore][,nonblock]`); returns the host's
/// descriptor of it.
pub fn add_eventfd(
    runner: &mut wasi_eventfd::runner::Runner,
    spec: &str,
) -> wasi_eventfd::Descriptor {
    let (name, rest) = spec.split_once('=').expect("NAME=INITVAL");
    let mut parts = rest.split(',');
    let initval = parts.next().and_then(|v| v.parse().ok()).expect("INITVAL");
    let mut flags = wasi_eventfd::CreateFlags::default();
    for flag in parts {
        match flag {
            "semaphore" => flags |= wasi_eventfd::CreateFlags::SEMAPHORE,
            "nonblock" => flags |= wasi_eventfd::CreateFlags::NONBLOCK,
            other => panic!("unknown flag {other}"),
        }
    }
    runner.add_eventfd(name, initval, flags).expect("eventfd")
}
