//! The app emulator a template's test runs beside the GHL sandbox: the REST contract (Your App,
//! InvestNext and Invoco profiles), Insightly or SalesNexus, each on a random loopback port with
//! limits high enough never to slow a test down.

use ghl_sandbox::insightly::{InsightlyConfig, InsightlySandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};
use ghl_sandbox::salesnexus::{SnConfig, SnSandbox};

/// Which emulator a test wants: a REST profile (`Profile::InvestNext` converts), [`Insightly`]
/// or [`SalesNexus`].
#[derive(Debug, Clone, Copy)]
pub enum AppSpec {
    Rest(Profile),
    Insightly,
    SalesNexus,
}

/// The Insightly emulator, as an argument of `support::start`.
#[derive(Debug, Clone, Copy)]
pub struct Insightly;

/// The SalesNexus emulator, as an argument of `support::start`.
#[derive(Debug, Clone, Copy)]
pub struct SalesNexus;

impl From<Profile> for AppSpec {
    fn from(p: Profile) -> Self {
        AppSpec::Rest(p)
    }
}

impl From<Insightly> for AppSpec {
    fn from(_: Insightly) -> Self {
        AppSpec::Insightly
    }
}

impl From<SalesNexus> for AppSpec {
    fn from(_: SalesNexus) -> Self {
        AppSpec::SalesNexus
    }
}

/// A running app emulator.
pub enum AppEmulator {
    Rest(RestSandbox),
    Insightly(InsightlySandbox),
    SalesNexus(SnSandbox),
}

impl AppEmulator {
    /// Starts the emulator with `contacts` seeded contacts.
    pub async fn start(spec: AppSpec, contacts: usize) -> Self {
        match spec {
            AppSpec::Rest(profile) => AppEmulator::Rest(
                RestSandbox::start(RestConfig {
                    profile,
                    contacts,
                    limits: RateLimit {
                        limit: 1_000_000,
                        window_secs: 60,
                    },
                    ..Default::default()
                })
                .await
                .expect("REST emulator starts"),
            ),
            AppSpec::Insightly => AppEmulator::Insightly(
                InsightlySandbox::start(InsightlyConfig {
                    contacts,
                    seed: 7,
                    ..Default::default()
                })
                .await
                .expect("Insightly emulator starts"),
            ),
            AppSpec::SalesNexus => AppEmulator::SalesNexus(
                SnSandbox::start(SnConfig {
                    contacts,
                    hourly_limit: 1_000_000,
                    ..Default::default()
                })
                .await
                .expect("SalesNexus emulator starts"),
            ),
        }
    }

    /// The API address a connection is configured with.
    pub fn api_url(&self) -> String {
        match self {
            AppEmulator::Rest(a) => a.api_url(),
            AppEmulator::Insightly(a) => a.base_url.clone(),
            AppEmulator::SalesNexus(a) => a.api_url(),
        }
    }

    /// The key the emulator accepts.
    pub fn api_key(&self) -> String {
        match self {
            AppEmulator::Rest(a) => a.api_key(),
            AppEmulator::Insightly(a) => a.api_key(),
            AppEmulator::SalesNexus(a) => a.api_key(),
        }
    }

    /// Where the emulator's `/_sandbox/` admin API lives.
    pub fn admin_root(&self) -> String {
        match self {
            AppEmulator::Rest(a) => a.base_url.clone(),
            AppEmulator::Insightly(a) => a.root_url.clone(),
            AppEmulator::SalesNexus(a) => a.base_url.clone(),
        }
    }

    /// What a test puts in a template setting that is neither an address nor a key: the
    /// Insightly pacing is raised, since the emulator has no per-second cap.
    pub fn setting(&self, name: &str) -> Option<String> {
        match (self, name) {
            (AppEmulator::Insightly(_), "INSIGHTLY_REQUESTS_PER_SECOND") => Some("1000".into()),
            _ => None,
        }
    }

    /// The REST emulator; panics for another app.
    pub fn rest(&self) -> &RestSandbox {
        match self {
            AppEmulator::Rest(a) => a,
            _ => panic!("this test runs beside the REST emulator"),
        }
    }

    /// The Insightly emulator; panics for another app.
    pub fn insightly(&self) -> &InsightlySandbox {
        match self {
            AppEmulator::Insightly(a) => a,
            _ => panic!("this test runs beside the Insightly emulator"),
        }
    }

    /// The SalesNexus emulator; panics for another app.
    pub fn salesnexus(&self) -> &SnSandbox {
        match self {
            AppEmulator::SalesNexus(a) => a,
            _ => panic!("this test runs beside the SalesNexus emulator"),
        }
    }
}
