//! The service end to end: `limen serve`, `limen admin` and `limen agent` as
//! processes, driven over HTTP and SMTP on loopback, with an OSDP control
//! panel on a pseudo-terminal.

mod audit;
mod bad_input;
mod browser;
mod cli;
mod entrance;
mod entrance_osdp;
mod hostile;
mod import;
mod isolation;
mod journey;
mod keys;
mod languages;
mod liveness;
mod model_migration;
mod model_rollout;
mod multi_instance;
mod openapi;
#[path = "../common/osdp_panel.rs"]
mod osdp_panel;
mod pages;
mod password_reset;
mod statement_change;
mod support;
mod webhook_examples;
