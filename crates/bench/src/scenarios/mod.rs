//! One module per scenario; each exposes `pub async fn run(&Options) -> Result<Report, String>`.

pub mod backfill;
pub mod cpu;
pub mod e2e;
pub mod ingest;
pub mod memory;
pub mod scale;
