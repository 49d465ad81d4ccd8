//! yoyoform: env.toml → a dependency graph → a plan → an environment on Docker.
//!
//! The flow, one module each: [`config`] loads and validates env.toml, [`graph`] orders
//! its resources, [`resolve`] turns them into the attributes each instance should have
//! (`desired`), [`refresh`] reads what Docker has (`actual`) for what the state file
//! recorded (`prior`), [`plan`] diffs the three into plain data (a destroy is a plan
//! of deletions), and [`apply`] carries a plan out. Only `main.rs` prints and picks exit codes.
#![deny(missing_docs)]

pub mod apply;
pub mod attributes;
pub mod config;
pub mod graph;
pub mod plan;
pub mod refresh;
pub mod resolve;
