//! Which case exercises which catalog entry: one table, id → case, checked against the catalog
//! by `coverage.rs` (an entry without a case fails it).

use std::future::Future;
use std::pin::Pin;

use catalog::Entry;

use super::World;

/// A case: runs the entry's snippet against the emulators and asserts its effect.
pub type CaseFn = for<'a> fn(&'a World, &'a Entry) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Boxes an `async fn(&World, &Entry)` as a [`CaseFn`].
#[macro_export]
macro_rules! case {
    ($f:path) => {{
        fn boxed<'a>(
            w: &'a $crate::support::World,
            e: &'a catalog::Entry,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>> {
            Box::pin($f(w, e))
        }
        boxed as $crate::support::cases::CaseFn
    }};
}

/// Every case, by entry id.
pub fn all() -> Vec<(String, CaseFn)> {
    let mut v = super::ghl_cases::cases();
    v.extend(super::ops_cases::cases());
    for app in ["your_app", "investnext", "invoco"] {
        v.extend(super::rest_cases::cases(app));
    }
    for app in ["insightly", "salesnexus"] {
        v.extend(super::polled_cases::cases(app));
    }
    v.extend(super::timer_cases::cases());
    v.extend(super::engine_cases::cases());
    v
}

/// Runs the cases of the entries `pick` selects, in catalog order, each against `w`.
pub async fn run(w: &World, pick: impl Fn(&Entry) -> bool) -> usize {
    let table = all();
    let mut ran = 0;
    for e in catalog::catalog().iter().filter(|e| pick(e)) {
        let Some((_, case)) = table.iter().find(|(id, _)| *id == e.id) else {
            panic!("no case for {}", e.id);
        };
        eprintln!("case {}", e.id);
        case(w, e).await;
        ran += 1;
    }
    ran
}
