//! Prints what the guest was given, one line, for the run-file tests:
//! `ARGV0: args=[..] env=[K=V,..] eventfds=[..]` (env and eventfds sorted).

use eventfd_test_programs::get_eventfds;

fn main() {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_default();
    let args: Vec<String> = args.collect();
    let mut env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    env.sort();
    let mut eventfds: Vec<String> = get_eventfds().into_iter().map(|(_, name)| name).collect();
    eventfds.sort();
    println!(
        "{argv0}: args=[{}] env=[{}] eventfds=[{}]",
        args.join(","),
        env.join(","),
        eventfds.join(",")
    );
}
