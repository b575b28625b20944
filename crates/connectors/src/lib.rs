//! Connectors: one per app, all behind the [`Connector`] trait and all speaking the canonical
//! record model of [`record`]. Every vendor quirk (field names, paging, envelopes, deletes) stays
//! inside its connector, so the engine and the mappings see one shape.

pub mod budget;
pub mod connector;
pub mod ghl;
pub mod insightly;
pub mod record;
pub mod salesnexus;
pub mod your_app;

pub use budget::Budget;
pub use connector::{
    operation_of, operations_of, Capabilities, ChangeHint, ChangePage, Connector, ConnectorError,
    MatchKey, OperationEffect, OperationField, OperationSpec,
};
pub use record::{EntityKind, Record};

pub use self::ghl::{GhlConfig, GhlConnector, GhlSettings};
pub use insightly::{InsightlyConfig, InsightlyConnector};
pub use salesnexus::{SalesNexusConfig, SalesNexusConnector};
pub use your_app::{YourAppConfig, YourAppConnector};
