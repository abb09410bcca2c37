//! Feature 2: the quick actions of a notification card (change status, assign, reply,
//! comment). A button opens a form; the submitted form runs in Desk with the clicking agent's
//! own grant ([`crate::link`]), only on tickets of their departments and only where
//! `[actions]` allows it. The card is then edited in place and a banner confirms; Desk's
//! refusal is shown in a banner. A retried or double submit runs once (idempotency by
//! message, action and form content), and the webhook echo of the change is not announced.

mod echo;
mod forms;
mod open;
mod submit;

pub use echo::{
    ActionRecord, ActionState, ECHO_LIFETIME, echo_key_actor, echo_key_ticket, is_echo, prune,
};
pub use forms::{FORM_LIFETIME, FormContext};
