//! The service end to end: `limen serve` and `limen admin` as processes,
//! driven over HTTP and SMTP on loopback.

mod bad_input;
mod browser;
mod cli;
mod entrance;
mod isolation;
mod journey;
mod openapi;
mod pages;
mod support;
