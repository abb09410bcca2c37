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
    /// Validate config.toml; print the effective routing and the derived Zoho URLs.
    CheckConfig {
        /// Path to config.toml.
        #[arg(long, short, default_value = "/etc/deskcliq/config.toml")]
        config: PathBuf,
    },
}
