//! Browsers waiting for the phone. A browser's long poll waits on a bell for its request, rung
//! when the phone approves or declines through this platform node, so it learns at once without
//! asking the store over and over; it still looks every [`FALLBACK_CHECK`] in case the answer
//! came through another node sharing the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

/// How often a waiting browser checks the store without being woken.
pub const FALLBACK_CHECK: Duration = Duration::from_secs(1);

/// The bells of the requests browsers are waiting on, by handle hash.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    bells: Mutex<HashMap<[u8; 32], Weak<Notify>>>,
}

/// One browser's hold on a request's bell; the bell goes when its last holder does.
pub(crate) struct Watch<'a> {
    answers: &'a Answers,
    key: [u8; 32],
    bell: Option<Arc<Notify>>,
}

impl Watch<'_> {
    pub(crate) fn bell(&self) -> &Notify {
        self.bell.as_deref().expect("held until drop")
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        drop(self.bell.take());
        if let Ok(mut b) = self.answers.bells.lock()
            && b.get(&self.key).is_some_and(|w| w.strong_count() == 0)
        {
            b.remove(&self.key);
        }
    }
}

impl Answers {
    /// The bell for the request with handle hash `key`, shared with other browsers waiting on it.
    pub(crate) fn watch(&self, key: [u8; 32]) -> Watch<'_> {
        let bell = match self.bells.lock() {
            Ok(mut b) => match b.get(&key).and_then(Weak::upgrade) {
                Some(bell) => bell,
                None => {
                    let bell = Arc::new(Notify::new());
                    b.insert(key, Arc::downgrade(&bell));
                    bell
                }
            },
            // A poisoned map only costs the wake-up: the fallback check still runs.
            Err(_) => Arc::new(Notify::new()),
        };
        Watch {
            answers: self,
            key,
            bell: Some(bell),
        }
    }

    /// The request with handle hash `key` was answered: wake whoever waits on it.
    pub(crate) fn tell(&self, key: &[u8; 32]) {
        let bell = self
            .bells
            .lock()
            .ok()
            .and_then(|b| b.get(key).and_then(Weak::upgrade));
        if let Some(bell) = bell {
            bell.notify_waiters();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.bells.lock().map(|b| b.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_browser_is_woken_by_its_own_answer_only_and_the_bell_goes_with_it() {
        let answers = Answers::default();
        let mine = answers.watch([1; 32]);
        let other = answers.watch([2; 32]);
        let also_mine = answers.watch([1; 32]);
        assert_eq!(answers.len(), 2);

        {
            let woken = mine.bell().notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let not_woken = other.bell().notified();
            tokio::pin!(not_woken);
            not_woken.as_mut().enable();

            answers.tell(&[1; 32]);
            // A told future completes at its first poll; the other stays pending.
            assert!(futures_now(woken.as_mut()));
            assert!(!futures_now(not_woken.as_mut()));
        }

        drop(mine);
        assert_eq!(answers.len(), 2, "another browser still waits on request 1");
        drop(also_mine);
        drop(other);
        assert_eq!(answers.len(), 0);
        // Telling a request nobody waits on is harmless.
        answers.tell(&[3; 32]);
    }

    /// Whether `f` is ready at its first poll.
    fn futures_now<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        f.poll(&mut cx).is_ready()
    }
}
