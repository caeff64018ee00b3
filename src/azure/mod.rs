//! Azure clients: Blob Storage (and, after merge, Resource Manager).

pub mod blob;
