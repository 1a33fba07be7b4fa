//! entraprobe: can this identity call this Azure AI service with a Microsoft Entra ID token,
//! and if not, exactly why not and what fixes it?
//!
//! The stages follow the data flow of the design, one module each:
//! `config` → `probe` (plan) → `credential` (tokens) → `claims` → `arm` (preflight, rbac)
//! → `service` (one call per cell) → `diagnosis` → `report`. Network and process I/O happen
//! only in `credential`, `arm` and `service`; the rest are pure functions of what they returned.

pub mod arm;
pub mod ci;
pub mod claims;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod config;
pub mod credential;
pub mod diagnosis;
pub mod discover;
pub mod emulator;
pub mod graph;
pub mod http;
pub mod input;
pub mod manual;
pub mod probe;
pub mod progress;
pub mod redact;
pub mod report;
pub mod service;

/// Bad input: a flag, config file, scenario or token the user gave us. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }
}
