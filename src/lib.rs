//! deskcliq: connects a Zoho Desk help desk to Zoho Cliq team chat.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::todo,
    clippy::await_holding_lock
)]

pub mod config;
pub mod store;
