pub mod ghl;
pub mod insightly;
pub mod rest;
pub mod salesnexus;
