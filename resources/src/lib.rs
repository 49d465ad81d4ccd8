//! Resource kinds on Docker.
