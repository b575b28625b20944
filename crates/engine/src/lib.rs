//! The sync engine: durable events and jobs, identity links, flows and mappings, execution,
//! scheduling and audit. Data path: ingress (webhook, poll, manual) → events → jobs (leased,
//! ordered per entity, coalesced, retried, dead-lettered) → worker (re-fetch, map, compare with the
//! last synced snapshot, write through a connector) → link + snapshot + audit + job completion in
//! one transaction.

pub mod actions;
pub mod audit;
pub mod connections;
pub mod flow;
pub mod flow_state;
pub mod pacing;
pub mod runtime;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod unified;
