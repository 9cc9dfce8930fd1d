//! The Terraform language as tfw reads it: HCL and JSON files, their literal values, variables
//! and their types, backend blocks and settings.

pub mod backend;
pub mod backend_settings;
pub mod hcl;
pub mod redaction_key;
pub mod simple_hcl;
pub mod types;
pub mod variables;
