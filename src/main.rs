//! deskcliq: read the command line, set up logging, run the chosen command.

use std::process::ExitCode;

use clap::Parser as _;
use deskcliq::cli::{Cli, Command};
use deskcliq::config::{Config, LoadEnv};
use deskcliq::{daemon, logging};

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
