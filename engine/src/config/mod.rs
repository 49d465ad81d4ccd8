//! env.toml → [`Config`](model::Config): parsed with spans, checked as a whole (every
//! problem reported at once, each with its `env.toml:LINE:COL`), templates parsed.

pub mod diagnostic;
pub mod duration;
pub mod format;
pub mod load;
pub mod model;
pub mod overrides;
pub mod template;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use load::{Checked, Reported, Table, load, load_from, load_source, required};
pub use overrides::{Origin, Overrides, VariableValue};
