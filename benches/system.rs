//! System benchmarks: the release `deskcliq` binary (or the in-process `App` where the
//! simulator's manual clock must drive it) against the built-in simulator over loopback.
//!
//!     cargo bench --bench system                  # every figure, written to BENCHMARKS.md
//!     cargo bench --bench system -- burst         # one of: idle command ingest e2e burst credits
//!     cargo bench --bench system -- --quick       # small parameters, prints only (a smoke run)
//!
//! The full run takes about 10 minutes on 2 cores. Not part of `cargo test` (`test = false`,
//! `harness = false`, `bench = false`: it runs only when named).

mod system {
    pub mod burst;
    pub mod command;
    pub mod credits;
    pub mod e2e;
    pub mod harness;
    pub mod idle;
    pub mod ingest;
    pub mod load;
    pub mod report;
}

use system::report::{Machine, Section};

/// What a benchmark needs from the command line and the machine.
pub struct Ctx {
    /// `target/release/deskcliq`.
    pub binary: std::path::PathBuf,
    pub quick: bool,
    pub machine: Machine,
}

const ALL: [&str; 6] = ["idle", "command", "ingest", "e2e", "burst", "credits"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == system::harness::BARE_SERVER_ARG) {
        system::harness::bare_server_main();
        return;
    }
    // `cargo bench` adds `--bench`; anything else starting with `-` is ours.
    let quick = args.iter().any(|a| a == "--quick");
    let named: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    for n in &named {
        if !ALL.contains(n) {
            eprintln!("unknown benchmark {n:?}; one of {}", ALL.join(" "));
            std::process::exit(2);
        }
    }
    let chosen: Vec<&str> = if named.is_empty() {
        ALL.to_vec()
    } else {
        ALL.iter().copied().filter(|a| named.contains(a)).collect()
    };
    let binary = system::harness::release_binary();
    let machine = Machine::read();
    println!(
        "deskcliq system benchmarks{} · binary {} · {}",
        if quick { " (quick: printed only)" } else { "" },
        binary.display(),
        machine.line()
    );
    let ctx = Ctx {
        binary,
        quick,
        machine,
    };
    let sys = actix_rt::System::new();
    for name in chosen {
        println!("\n=== {name} ===");
        let started = std::time::Instant::now();
        let section: Section = sys.block_on(async {
            match name {
                "idle" => system::idle::run(&ctx).await,
                "command" => system::command::run(&ctx).await,
                "ingest" => system::ingest::run(&ctx).await,
                "e2e" => system::e2e::run(&ctx).await,
                "burst" => system::burst::run(&ctx).await,
                _ => system::credits::run(&ctx).await,
            }
        });
        let text = section.render(&ctx);
        println!("{text}");
        println!("({name} took {:.0} s)", started.elapsed().as_secs_f64());
        if !ctx.quick {
            section.write(&text);
        }
    }
}
