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
    /// Create missing channels and add the bot; register the Cliq handlers and the Desk
    /// webhook. Idempotent.
    Install {
        /// Path to config.toml.
        #[arg(long, short, default_value = "/etc/deskcliq/config.toml")]
        config: PathBuf,
        /// Print every change without making it.
        #[arg(long)]
        dry_run: bool,
        /// Install even though the portal has a Slack integration (Zoho does not support both).
        #[arg(long)]
        force: bool,
        /// Where to write the Cliq definitions and steps when Cliq's API refuses to create them.
        #[arg(long, default_value = "deskcliq-cliq-setup")]
        cliq_definitions: PathBuf,
    },
    /// Check the setup: one line per check with a fix; exit 1 on any failure.
    Doctor {
        /// Path to config.toml.
        #[arg(long, short, default_value = "/etc/deskcliq/config.toml")]
        config: PathBuf,
    },
    /// Remove the Desk webhook and the Cliq handlers (channels stay). Refuses while the
    /// daemon runs.
    Uninstall {
        /// Path to config.toml.
        #[arg(long, short, default_value = "/etc/deskcliq/config.toml")]
        config: PathBuf,
        /// Also delete the store.
        #[arg(long)]
        purge: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoLocale {
    Ja,
    En,
}
