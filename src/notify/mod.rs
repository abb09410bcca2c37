//! Feature 1: Desk changes become Cliq notifications. Webhook events are parsed
//! ([`event`]), classified against the store's snapshot ([`classify`]), routed by
//! DESIGN.md's rules ([`route`]) and rendered as cards ([`card`]).

pub mod card;
pub mod classify;
pub mod event;
pub mod inert;
pub mod model;
pub mod route;
