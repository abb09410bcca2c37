//! deskcliq: read the command line, set up logging, run the chosen command.

use std::process::ExitCode;

use clap::Parser as _;
use deskcliq::cli::{Cli, Command};
use deskcliq::config::{Config, LoadEnv};
use deskcliq::{daemon, logging};

/// sled and serde allocate and free small blocks at a high rate on the webhook and routing
/// paths; glibc's allocator spent a fifth of the daemon's CPU there under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    match cli.command {
        Command::Run { config } => match daemon::run(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::FAILURE
            }
        },
        Command::Demo { locale, fast } => {
            let locale = match locale {
                deskcliq::cli::DemoLocale::Ja => deskcliq::config::Locale::Ja,
                deskcliq::cli::DemoLocale::En => deskcliq::config::Locale::En,
            };
            match actix::System::new().block_on(deskcliq::demo::run(locale, fast)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Install {
            config,
            dry_run,
            force,
            cliq_definitions,
        } => setup(&config, |c| async move {
            let opts = deskcliq::setup::install::Options {
                dry_run,
                force,
                definitions_dir: cliq_definitions,
            };
            deskcliq::setup::install::run(&c, &opts)
                .await
                .map(|o| (o.render(), !o.incomplete))
        }),
        Command::Doctor { config } => setup(&config, |c| async move {
            deskcliq::setup::doctor::run(&c)
                .await
                .map(|r| (r.render(), r.healthy()))
        }),
        Command::Uninstall { config, purge } => setup(&config, |c| async move {
            deskcliq::setup::uninstall::run(&c, &deskcliq::setup::uninstall::Options { purge })
                .await
                .map(|lines| (lines.join("\n") + "\n", true))
        }),
        Command::CheckConfig { config } => match Config::load(&config, &LoadEnv::from_process()) {
            Ok(c) => {
                print!("{}", deskcliq::config::render_check(&c));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Loads the config and runs a setup command; prints its report; exit 1 when it failed or
/// reported a failure.
fn setup<F, Fut>(path: &std::path::Path, f: F) -> ExitCode
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = Result<(String, bool), deskcliq::setup::SetupError>>,
{
    let config = match Config::load(path, &LoadEnv::from_process()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("✗ {e}");
            return ExitCode::FAILURE;
        }
    };
    // The webhook URL carries the token: whatever Zoho echoes back, it is never printed.
    let token = config.desk.webhook_token.expose_str().to_string();
    let redact = move |s: String| {
        if token.is_empty() {
            s
        } else {
            s.replace(&token, "<desk.webhook_token>")
        }
    };
    match actix::System::new().block_on(f(config)) {
        Ok((report, ok)) => {
            print!("{}", redact(report));
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("✗ {}", redact(e.to_string()));
            ExitCode::FAILURE
        }
    }
}
