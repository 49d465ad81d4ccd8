//! The plan: plain data saying what apply will do, built by diffing desired, prior and
//! actual, and printed for review.

mod build;
mod markdown;
mod model;
mod render;
mod saved;

pub use build::{Actual, Planner, build, changed_paths, destroy};
pub use markdown::markdown;
pub use model::{Action, Change, Instance, OutputChange, Plan};
pub use render::{Style, change_text, render, render_outputs, render_recorded};
pub use saved::{SavedPlan, SavedPlanError};
