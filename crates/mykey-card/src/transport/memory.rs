//! The in-memory transport: a [`VirtualCard`] in this process, its state saved to a [`CardStore`]
//! whenever a command changed it.

use super::{Transport, TransportError};
use crate::card::VirtualCard;
use crate::store::{CardFileError, CardStore, NoStore};

/// A virtual card reached by function call.
#[derive(Debug)]
pub struct MemoryTransport<S: CardStore = NoStore> {
    card: VirtualCard,
    store: S,
}

impl MemoryTransport<NoStore> {
    /// A card whose state lives in memory only.
    pub fn new(card: VirtualCard) -> Self {
        Self {
            card,
            store: NoStore,
        }
    }
}

impl<S: CardStore> MemoryTransport<S> {
    /// A card saved to `store` after every command that changes its retry counters.
    pub fn with_store(card: VirtualCard, store: S) -> Self {
        Self { card, store }
    }

    /// The card.
    pub fn card(&self) -> &VirtualCard {
        &self.card
    }

    /// The card, for management (installing certificates, renewal); save it yourself after.
    pub fn card_mut(&mut self) -> &mut VirtualCard {
        &mut self.card
    }

    /// The card and its store.
    pub fn into_parts(self) -> (VirtualCard, S) {
        (self.card, self.store)
    }

    /// Power cycle: the card forgets its selection and verified PINs.
    pub fn reset(&mut self) {
        self.card.reset();
    }

    /// Runs one APDU and saves the card if its state changed; the answer is returned only once
    /// saved, so that pulling the plug cannot undo a wrong-PIN count.
    pub fn answer(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardFileError> {
        let response = self.card.transmit(apdu);
        if self.card.take_state_changed() {
            self.store.save(&self.card)?;
        }
        Ok(response)
    }
}

impl<S: CardStore> Transport for MemoryTransport<S> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.answer(apdu).map_err(TransportError::Store)
    }
}
