//! GoHighLevel API v2 client for the Contacts API: typed models and one method per operation,
//! OAuth that never loses a token, pacing on GHL's rate-limit headers, safe retries, paging
//! streams and webhook verification. It knows nothing of the engine.

pub mod auth;
pub mod client;
pub mod error;
pub mod models;
pub mod oauth;
mod ops;
pub mod pacing;
pub mod paging;
pub mod retry;
pub mod secret;
pub mod webhooks;

pub use auth::{AgencyLocation, Auth, NoStore, OAuthSession, TokenStore};
pub use client::{GhlClient, GhlClientBuilder, API_VERSION};
pub use error::GhlError;
pub use oauth::{OAuthApp, TokenSet, UserType};
pub use pacing::{Budget, Pacer};
pub use retry::RetryPolicy;
pub use secret::Secret;
