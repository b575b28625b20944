//! Connectors: one per app, all behind the [`Connector`] trait and all speaking the canonical
//! record model of [`record`]. Every vendor quirk (field names, paging, envelopes, deletes) stays
//! inside its connector, so the engine and the mappings see one shape.

pub mod budget;
pub mod connector;
pub mod ghl;
pub mod record;
pub mod your_app;

pub use budget::Budget;
pub use connector::{Capabilities, ChangeHint, ChangePage, Connector, ConnectorError, MatchKey};
pub use record::{EntityKind, Record};

pub use self::ghl::{GhlConfig, GhlConnector, GhlSettings};
pub use your_app::{YourAppConfig, YourAppConnector};
