//! ARM reads (preflight of accounts, role assignments, definitions, deny assignments,
//! permissions) and the pure data-action evaluator.
//!
//! `client` is the only module here that does I/O; `preflight` and `rbac` are pure functions of
//! what it returned, so every verdict is tested with hand-built ARM objects.

pub mod actions;
pub mod builtin_roles;
pub mod client;
pub mod condition;
pub mod model;
pub mod pim;
pub mod preflight;
pub mod project;
pub mod rbac;
pub mod scope;
pub mod stage;
