//! Waiting for the engine to finish, for tests whose jobs wait on each other (a task whose
//! contact is not linked yet retries until it is).

use std::time::Duration;

use engine::store::{DlqFilter, Page};

use super::Fx;

impl Fx {
    /// Retries after 20 ms instead of seconds, so [`Fx::settle`] is quick.
    pub fn fast_retries(&mut self) {
        self.engine.options.retry_base = Duration::from_millis(20);
        self.engine.options.retry_cap = Duration::from_millis(200);
    }

    /// Runs jobs, waiting out retries, until none is pending; fails the test when one ends in
    /// the dead-letter queue or nothing settles within a minute. Returns the jobs run.
    pub async fn settle(&self) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut ran = 0;
        loop {
            ran += self.run().await;
            let s = self.store().queue_stats().await.expect("stats");
            if s.dead > 0 {
                let dead = self
                    .store()
                    .dlq_list(&DlqFilter::default(), Page::default())
                    .await
                    .expect("dead-letter queue");
                let why: Vec<String> = dead
                    .into_iter()
                    .map(|j| {
                        format!(
                            "{} {}: {}",
                            j.flow_id,
                            j.entity_key,
                            j.last_error.unwrap_or_default()
                        )
                    })
                    .collect();
                panic!("nothing in the dead-letter queue: {why:#?}");
            }
            if s.pending == 0 && s.leased == 0 {
                return ran;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "jobs never settled: {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One poll, one reconcile, then [`Fx::settle`]: `ghl-bridge run` over a few seconds.
    pub async fn pass_settled(&self) -> usize {
        self.engine.poll_once().await.expect("poll");
        self.engine.reconcile_once().await.expect("reconcile");
        self.settle().await
    }
}
