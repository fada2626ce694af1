//! The service end to end: `limen serve`, `limen admin` and `limen agent` as
//! processes, driven over HTTP and SMTP on loopback, with an OSDP control
//! panel on a pseudo-terminal.

mod accessibility;
mod admin_accounts;
mod admin_entrances;
mod admin_pages;
mod admin_password_reset;
mod admin_people;
mod admin_words;
mod api_keys;
mod audit;
mod bad_input;
mod browser;
mod cli;
mod device_activity;
mod entrance;
mod entrance_frames;
mod entrance_osdp;
mod hostile;
mod import;
mod installed;
mod isolation;
mod journey;
mod keys;
mod languages;
mod liveness;
mod logs;
mod metrics;
mod model_migration;
mod model_rollout;
mod multi_instance;
mod openapi;
#[path = "../common/osdp_panel.rs"]
mod osdp_panel;
mod packaging;
mod pages;
mod password_reset;
mod statement_change;
mod support;
mod tls;
mod webhook_examples;
