//! `card insert`: a card file in pcscd's virtual reader through vsmartcard's vpcd driver, so that
//! every PC/SC program on the machine (OpenSC, browsers, `mykey card sign --reader`) sees the card,
//! until Ctrl-C or SIGTERM. The card file stays locked meanwhile, and every retry counter the
//! card changes is saved before its answer leaves. If pcscd goes away the bridge reconnects with
//! a short back-off, as a card waits in its reader for the machine to come back.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use clap::Args;
use mykey_card::vpcd::{self, Vpcd, VpcdError, VpcdStopper};
use mykey_card::{CardFile, MemoryTransport};

use super::{card_file_error, open_locked};
use crate::jlis::shutdown_signal;

/// First wait before reconnecting to vpcd, doubled after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A connection that lasted this long was a good one: the back-off starts again from the first.
const STABLE: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
pub(crate) struct InsertArgs {
    /// The card file.
    card: PathBuf,
    /// Where vpcd listens (its first reader; pcscd loads the driver).
    #[arg(long, default_value = vpcd::DEFAULT_ADDR)]
    vpcd: String,
}

/// What the signal handler and the bridge thread share.
#[derive(Debug, Default)]
struct Control {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    stopping: bool,
    /// Closes the current connection, if there is one.
    stopper: Option<VpcdStopper>,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays meaningful whatever a panicking holder left half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the bridge to stop: the card leaves the reader at once.
    fn stop(&self) {
        let mut state = self.lock();
        state.stopping = true;
        if let Some(s) = state.stopper.take() {
            s.stop();
        }
        self.changed.notify_all();
    }

    /// Waits `d` unless asked to stop meanwhile; false when stopping.
    fn pause(&self, d: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, d, |s| !s.stopping)
            .unwrap_or_else(PoisonError::into_inner);
        !state.stopping
    }
}

pub(super) async fn insert(a: InsertArgs) -> Result<(), String> {
    let (file, _lock) = open_locked(&a.card)?;
    let card = file.load().map_err(|e| card_file_error(&e))?;
    let transport = MemoryTransport::with_store(card, file);
    // The first connection is made here, so that a machine without pcscd and vpcd says so at
    // once instead of waiting.
    let first = Vpcd::connect(a.vpcd.as_str()).map_err(|e| {
        format!(
            "{e} (is pcscd running with vsmartcard's vpcd driver? Debian: pcscd vsmartcard-vpcd)"
        )
    })?;
    let control = Arc::new(Control::default());
    let mut bridge = tokio::task::spawn_blocking({
        let control = control.clone();
        let label = format!("{} is in the vpcd reader at {}", a.card.display(), a.vpcd);
        move || serve(first, transport, &a.vpcd, &label, &control)
    });
    let result = tokio::select! {
        r = &mut bridge => r,
        () = shutdown_signal() => {
            control.stop();
            bridge.await
        }
    };
    result.map_err(|e| format!("the vpcd bridge stopped: {e}"))??;
    say(&format!("{} removed from the reader", a.card.display()));
    Ok(())
}

/// Serves the card over `first`, then over new connections whenever vpcd drops one, until
/// stopped. Ends with an error only when the card's state cannot be saved.
fn serve(
    first: Vpcd,
    mut transport: MemoryTransport<CardFile>,
    addr: &str,
    label: &str,
    control: &Control,
) -> Result<(), String> {
    let mut next = Some(first);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let connection = match next.take().map_or_else(|| Vpcd::connect(addr), Ok) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "vpcd not reachable yet");
                if !control.pause(backoff) {
                    return Ok(());
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        {
            let mut state = control.lock();
            if state.stopping {
                return Ok(());
            }
            state.stopper = Some(
                connection
                    .stopper()
                    .map_err(|e| format!("vpcd connection: {e}"))?,
            );
        }
        transport.reset();
        say(&format!("{label}; Ctrl-C removes it"));
        let served = Instant::now();
        let result = connection.serve(&mut transport);
        let stopping = {
            let mut state = control.lock();
            state.stopper = None;
            state.stopping
        };
        match result {
            Err(VpcdError::Store(e)) => {
                return Err(format!(
                    "the card's state could not be saved, so it answered 65 81 and left the \
                     reader: {}",
                    card_file_error(&e)
                ));
            }
            _ if stopping => return Ok(()),
            Ok(()) => tracing::warn!("vpcd closed the connection (pcscd stopped?); reconnecting"),
            Err(e) => tracing::warn!(error = %e, "vpcd connection failed; reconnecting"),
        }
        // A connection that drops at once (vpcd serving another card) must not spin.
        if served.elapsed() >= STABLE {
            backoff = FIRST_BACKOFF;
        }
        if !control.pause(backoff) {
            return Ok(());
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A line on stdout; a closed stdout must not take the card out of the reader.
fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
