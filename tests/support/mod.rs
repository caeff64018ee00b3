//! Test support: a fake Resource Manager and the schema check it applies to request bodies.

#![allow(dead_code)]

pub mod azurite;
pub mod fake_arm;
pub mod schema;
