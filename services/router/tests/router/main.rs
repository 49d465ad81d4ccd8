//! Integration tests: the real `router` binary in front of upstream servers started by the
//! tests, all on 127.0.0.1.

mod failures;
mod harness;
mod proxying;
mod startup;
