pub mod ghl;
pub mod rest;
