//! The plan: plain data saying what apply will do, built by diffing desired, prior and
//! actual, and printed for review.

mod build;
mod markdown;
mod model;
mod render;
mod saved;
mod targeting;

pub use build::{Actual, Planner, build, changed_paths, destroy, refresh_only};
pub use markdown::markdown;
pub use model::{Action, Change, Instance, Mode, OutputChange, Plan};
pub use render::{
    Style, change_text, render, render_outputs, render_recorded, render_recorded_outputs,
    render_state,
};
pub use saved::{SavedPlan, SavedPlanError};
pub use targeting::{matches, restrict, restrict_destroy, restrict_found, select};
