//! Webhook signing and delivery of the GHL emulator.
//!
//! GHL pushes events as signed JSON POSTs, at least once, sometimes duplicated, out of order, with
//! fields missing, and retries only on 429 (see spec/ghl/FACTS.md, "Webhooks"). This module
//! reproduces that, with each misbehaviour switchable and seeded, so the bridge's webhook
//! receiver can be tested against the hard cases as well as the happy path.

mod config;
mod delivery;
mod signing;

pub use config::{DeliveryConfig, DeliveryOutcome, DeliveryRecord, DeliveryStats, WebhookTarget};
pub use delivery::WebhookDispatcher;
pub use signing::{WebhookKeys, WebhookKeysError, ED25519_FILE, RSA_FILE};
