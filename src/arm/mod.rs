//! ARM reads (preflight of accounts, role assignments, definitions, deny assignments,
//! permissions) and the pure data-action evaluator.

pub mod actions;
