//! Receiving GHL webhooks safely: signature verification (Ed25519 `x-ghl-signature`, legacy RSA
//! `x-wh-signature`), a timestamp window, webhook-id de-duplication, and typed events.
//!
//! A receiver hands [`WebhookVerifier::verify`] the raw body and the two signature headers and
//! acts only on the [`VerifiedEvent`] it returns. Why each check exists: anyone can POST to a
//! webhook URL (signature), a captured delivery can be re-sent (timestamp window and id
//! de-duplication), and GHL itself delivers at least once, sometimes twice (id de-duplication).

mod events;
mod seen;
mod verify;

pub use events::{
    AppInstallEvent, AppUninstallEvent, AppointmentEvent, AppointmentPayload, ContactEvent,
    CustomFieldValue, DndSetting, NoteEvent, TaskEvent, WebhookEvent,
};
pub use seen::{MemorySeenWebhooks, SeenWebhooks};
pub use verify::{
    SignatureScheme, Signatures, VerifiedEvent, WebhookError, WebhookKeyError, WebhookVerifier,
    DEFAULT_TIMESTAMP_WINDOW, GHL_LEGACY_PUBLIC_KEY_PEM, GHL_SIGNATURE_HEADER,
    LEGACY_SIGNATURE_HEADER,
};
