//! The command line (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::logging::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "deskcliq",
    version,
    about = "Connects a Zoho Desk help desk to Zoho Cliq team chat"
)]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run {
        /// Path to config.toml.
        #[arg(long, short, default_value = "/etc/deskcliq/config.toml")]
        config: PathBuf,
    },
    /// Run the daemon against the built-in simulator with a scripted story, printing each Cliq
    /// message. No account, no config file; ends by itself.
    Demo {
        /// Language of the messages.
        #[arg(long, value_enum, default_value = "en")]
        locale: DemoLocale,
        /// Short pauses (for tests).
        #[arg(long)]
        fast: bool,
    },
    /// Validate config.toml; print the effective routing and the derived Zoho URLs.
    CheckConfig {
        /// Path to config.toml.
        #[arg(long, short, default_value = "/etc/deskcliq/config.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoLocale {
    Ja,
    En,
}
