pub mod ghl;
