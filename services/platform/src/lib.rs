//! Shared pieces of the Yoyo platform services.
