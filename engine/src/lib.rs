//! yoyoform: env.toml → a dependency graph → a plan → an environment on a backend.
//!
//! The flow, one module each: [`config`] loads and validates env.toml, [`graph`] orders
//! its resources, [`resolve`] resolves their templates, [`refresh`] asks the
//! [`backend`] what it has (`actual`) for what the state file recorded (`prior`),
//! [`plan`] diffs desired, prior and actual into plain data (a destroy is a plan of
//! deletions), and [`apply`] carries a plan out; [`session`] ties them together for one
//! command. Every resource kind is a module of [`kinds`] behind the interface of [`kind`];
//! nothing else names a kind. Only `main.rs` prints and picks exit codes.
#![deny(missing_docs)]

pub mod apply;
pub mod attributes;
pub mod backend;
pub mod config;
pub mod error;
pub mod graph;
pub mod kind;
pub mod kinds;
pub mod ownership;
pub mod plan;
pub mod refresh;
pub mod resolve;
pub mod review;
pub mod session;
pub mod state_edit;
pub mod state_json;
pub mod views;

pub use error::{Error, Result};
