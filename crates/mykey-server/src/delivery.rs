//! Pushing events to relying parties (RFC 8935): each due stream gets its own task, which sends
//! the oldest pending SET, then the next, until none waits or one fails; a slow or failing
//! receiver holds up only its own stream (every push has a time limit), never the platform's
//! other work. What a push came to is recorded by the platform, which sets the back-off.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use mykey_platform::{Platform, PushOutcome, RelyingPartyId};
use parking_lot::Mutex;
use tokio::task::JoinHandle;

/// Most SETs one task pushes before it makes way (the next round picks the stream up again).
const PER_TASK: usize = 100;

/// The push deliverer: one per platform process.
#[derive(Debug)]
pub struct Deliverer {
    platform: Arc<Platform>,
    http: reqwest::Client,
    busy: Mutex<HashSet<i64>>,
}

impl Deliverer {
    /// A deliverer whose pushes each take at most `timeout`.
    pub fn new(platform: Arc<Platform>, timeout: Duration) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A receiver's redirect is not followed: the SET goes where it was configured.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            platform,
            http,
            busy: Mutex::new(HashSet::new()),
        })
    }

    /// Starts a task for every due stream not already being served; answers their handles.
    pub async fn round(self: &Arc<Self>) -> Vec<JoinHandle<()>> {
        let due = match self.platform.due_streams().await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list due streams");
                return Vec::new();
            }
        };
        let mut tasks = Vec::new();
        for rp in due {
            if !self.busy.lock().insert(rp.0) {
                continue;
            }
            let me = self.clone();
            tasks.push(tokio::spawn(async move {
                me.serve(rp).await;
                me.busy.lock().remove(&rp.0);
            }));
        }
        tasks
    }

    /// Rounds every `every` until the task is dropped.
    pub async fn run(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.round().await;
        }
    }

    async fn serve(&self, rp: RelyingPartyId) {
        for _ in 0..PER_TASK {
            let push = match self.platform.next_push(rp).await {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(relying_party = rp.0, error = %e, "cannot prepare a push");
                    return;
                }
            };
            let outcome = self.push(&push).await;
            let failed = matches!(outcome, PushOutcome::Failed(_));
            if let Err(e) = self.platform.record_push(rp, &push.jti, &outcome).await {
                tracing::warn!(relying_party = rp.0, error = %e, "cannot record a push");
                return;
            }
            if failed {
                return;
            }
        }
    }

    async fn push(&self, push: &mykey_platform::Push) -> PushOutcome {
        let mut req = self
            .http
            .post(&push.endpoint_url)
            .header("content-type", "application/secevent+jwt")
            .header("accept", "application/json")
            .body(push.set.clone());
        if let Some(h) = &push.authorization_header {
            req = req.header("authorization", h);
        }
        match req.send().await {
            Ok(r) if r.status().as_u16() == 202 => PushOutcome::Delivered,
            Ok(mut r) if r.status().as_u16() == 400 => {
                // RFC 8935 §2.3: {"err": code, "description": text}; at most 4 KiB is read.
                let mut bytes = Vec::new();
                while bytes.len() < 4096 {
                    match r.chunk().await {
                        Ok(Some(c)) => bytes.extend_from_slice(&c),
                        _ => break,
                    }
                }
                let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                let err = body["err"].as_str().unwrap_or("invalid_request");
                let why: String = format!("{err}: {}", body["description"].as_str().unwrap_or(""))
                    .chars()
                    .take(300)
                    .collect();
                PushOutcome::Refused(why)
            }
            Ok(r) => PushOutcome::Failed(format!("the receiver answered {}", r.status())),
            Err(e) if e.is_timeout() => {
                PushOutcome::Failed("the receiver did not answer in time".into())
            }
            Err(_) => PushOutcome::Failed("the receiver could not be reached".into()),
        }
    }
}
