//! `tapmip-scenario`: runs one lab scenario and says what it did, step by step.

use std::path::PathBuf;
use std::process::ExitCode;

use argh::FromArgs;
use netns_tests::domain::Binaries;
use netns_tests::{bench_forward, binaries, plain_router, soak, superframes, superframes_bridged};

/// Run a tapmip lab scenario (needs root or `unshare -Urnm`, and /dev/net/tun).
#[derive(FromArgs)]
struct Args {
    /// scenario: plain-router | superframes | superframes-bridged | bench-forward | soak
    #[argh(positional)]
    scenario: String,
    /// the tapmip-router binary (default: next to this one)
    #[argh(option)]
    router: Option<PathBuf>,
    /// soak: how many live migrations
    #[argh(option, default = "1000")]
    migrations: usize,
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    let router = args
        .router
        .map_or_else(|| binaries::sibling(binaries::ROUTER), Ok)
        .map_err(netns_tests::LabError::Check);
    let result = match args.scenario.as_str() {
        "plain-router" => router.and_then(|router| plain_router::run(&router)),
        "superframes" => router.and_then(|router| superframes::run(&router)),
        "superframes-bridged" => router.and_then(|router| superframes_bridged::run(&router)),
        "bench-forward" => router
            .and_then(|router| bench_forward::run(&router, Binaries::siblings().ok()))
            .map(|figures| bench_forward::report(&figures)),
        "soak" => soak::run(args.migrations, 100).and_then(|samples| {
            let (table, grew) = soak::report(&samples);
            println!("{table}");
            match grew.is_empty() {
                true => Ok(()),
                false => Err(netns_tests::LabError::Check(format!(
                    "grew: {}",
                    grew.join("; ")
                ))),
            }
        }),
        other => {
            eprintln!(
                "unknown scenario {other:?} (known: plain-router, superframes, superframes-bridged, bench-forward, soak)"
            );
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => {
            println!("{}: PASSED", args.scenario);
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}: FAILED: {e}", args.scenario);
            ExitCode::FAILURE
        }
    }
}
