//! deskcliq: connects a Zoho Desk help desk to Zoho Cliq team chat.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::todo,
    clippy::await_holding_lock
)]

pub mod actors;
pub mod app;
pub mod cli;
pub mod cliq;
pub mod clock;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod daemon;
pub mod deadlines;
pub mod demo;
pub mod desk;
pub mod http;
pub mod i18n;
pub mod jwks;
pub mod jwt;
pub mod link;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod oauth;
pub mod pipeline;
pub mod reconcile;

pub mod setup;
pub mod sim;
pub mod stats;
pub mod store;
pub mod systemd;
pub mod zoho_http;
