//! The receiver's memory of idempotency keys: per sender, its newest life and, per open call
//! of that life, the position up to which the sink took the call's events. A retry of a key
//! (the same request again, after a lost reply) is delivered from where the last attempt
//! stopped, so nothing reaches the sink twice within this receiver's life.
//!
//! Keys are forgotten when the sender says their calls ended (`Shipper-Settled-Below`); a
//! request of a forgotten key (a late copy) is turned away, not taken for a new call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One call's progress at this receiver: the next position its sink has not taken, `None`
/// until the first request of the key says where the call starts.
pub(crate) type Progress = Arc<tokio::sync::Mutex<Option<u64>>>;

#[derive(Default)]
struct Sender {
    life: u64,
    /// Calls below it ended; their keys are gone.
    settled_below: u64,
    calls: BTreeMap<u64, Progress>,
}

/// Every sender's keys.
#[derive(Default)]
pub(crate) struct Keys {
    senders: Mutex<BTreeMap<String, Sender>>,
}

/// Why a request gets no progress to deliver under.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Turned {
    /// A life of the sender older than the newest one seen.
    Stale(u64),
    /// A call below the sender's settled mark: its key is forgotten.
    Settled,
}

impl Keys {
    /// The progress of `call` of `from`'s `life`, after forgetting the calls below
    /// `settled_below`. Taken in the order requests arrive (the subscriber's loop), so a
    /// late copy of a call cannot be taken for a new one.
    pub(crate) fn progress(
        &self,
        from: &str,
        life: u64,
        call: u64,
        settled_below: u64,
    ) -> Result<Progress, Turned> {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        let sender = senders.entry(from.to_owned()).or_default();
        if life < sender.life {
            return Err(Turned::Stale(sender.life));
        }
        if life > sender.life {
            *sender = Sender { life, ..Sender::default() };
        }
        if settled_below > sender.settled_below {
            sender.settled_below = settled_below;
            sender.calls = sender.calls.split_off(&settled_below);
        }
        if let Some(progress) = sender.calls.get(&call) {
            return Ok(progress.clone());
        }
        if call < sender.settled_below {
            return Err(Turned::Settled);
        }
        Ok(sender.calls.entry(call).or_default().clone())
    }

    /// Keys held, for tests of the bound.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.senders.lock().unwrap().values().map(|s| s.calls.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_kept_until_settled_and_a_late_copy_is_turned_away() {
        let keys = Keys::default();
        let a = keys.progress("n1", 1, 5, 0).unwrap();
        assert!(Arc::ptr_eq(&a, &keys.progress("n1", 1, 5, 0).unwrap()), "a retry finds its key");
        keys.progress("n1", 1, 6, 6).unwrap();
        assert_eq!(keys.held(), 1, "call 5 forgotten");
        assert_eq!(keys.progress("n1", 1, 5, 0).unwrap_err(), Turned::Settled);
        assert_eq!(keys.progress("n1", 0, 9, 0).unwrap_err(), Turned::Stale(1));
        keys.progress("n1", 2, 1, 0).unwrap();
        assert_eq!(keys.held(), 1, "a newer life replaces the older one's keys");
    }
}
