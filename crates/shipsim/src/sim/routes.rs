//! Routes the scenario took away from nodes' transports (`drop-route`), and the live
//! transports they apply to.
//!
//! A route belongs to the sending node's process: `drop-route {from, to}` makes `from`'s
//! transport forget `to` (a stale service-discovery entry), `restore-route` gives it back. A
//! new process life starts with every route, as a restarted service re-reads its config; a
//! crash or bounce therefore ends the routes its node dropped ([`Routes::reset`]).
//!
//! The runner applies faults between simulation steps, while a restarted node's new process
//! only starts at the next step. So the dropped routes are kept here, not only in the
//! transport: a node's life applies those still dropped when it attaches its transport,
//! which makes `{at: 3s, bounce: n1}` followed by `{at: 3s, drop-route: {from: n1, ..}}`
//! drop the route in the new life, as the timeline says.
//!
//! Shared by the runner and the hosts through `Arc<Mutex<_>>` (single-threaded, never
//! contended), ordered maps only, so what happens does not depend on hashing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::transport::NodeTransport;

/// The dropped routes of a run and the transports of the lives running.
#[derive(Clone, Default)]
pub(crate) struct Routes(Arc<Mutex<Table>>);

#[derive(Default)]
struct Table {
    /// `(from, to)`: `from`'s transport has no route to `to`.
    dropped: BTreeSet<(String, String)>,
    /// Each node's latest transport (weak: a crash drops it with its process).
    live: BTreeMap<String, Weak<dyn NodeTransport>>,
}

/// Shows the dropped routes (the transports are not worth printing).
impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes").field("dropped", &self.lock().dropped).finish_non_exhaustive()
    }
}

impl Routes {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // Every change is one insert or remove: poisoning cannot leave it torn.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `node`'s new life runs `transport`: it loses the routes still dropped for `node`.
    pub(super) fn attach(&self, node: &str, transport: &Arc<dyn NodeTransport>) {
        let mut table = self.lock();
        for (_, to) in table.dropped.iter().filter(|(from, _)| from == node) {
            transport.drop_route(to);
        }
        table.live.insert(node.to_owned(), Arc::downgrade(transport));
    }

    fn live(&self, node: &str) -> Option<Arc<dyn NodeTransport>> {
        self.lock().live.get(node).and_then(Weak::upgrade)
    }

    /// `from`'s transport forgets `to`: its new calls to `to` fail with `NoRoute`.
    pub(crate) fn drop_route(&self, from: &str, to: &str) {
        self.lock().dropped.insert((from.to_owned(), to.to_owned()));
        if let Some(transport) = self.live(from) {
            transport.drop_route(to);
        }
    }

    /// `from`'s transport registers `to` again.
    pub(crate) fn restore_route(&self, from: &str, to: &str) {
        self.lock().dropped.remove(&(from.to_owned(), to.to_owned()));
        if let Some(transport) = self.live(from) {
            transport.restore_route(to);
        }
    }

    /// `node`'s process ended (crash or bounce): the routes it dropped end with it; its next
    /// life starts with every route.
    pub(super) fn reset(&self, node: &str) {
        let mut table = self.lock();
        table.dropped.retain(|(from, _)| from != node);
        table.live.remove(node);
    }

    /// Restores every dropped route (the settle phase) and returns them, in order.
    pub(super) fn restore_all(&self) -> Vec<(String, String)> {
        let dropped: Vec<(String, String)> = self.lock().dropped.iter().cloned().collect();
        for (from, to) in &dropped {
            self.restore_route(from, to);
        }
        dropped
    }

    /// The routes dropped now, `(from, to)` in order.
    pub(super) fn dropped(&self) -> Vec<(String, String)> {
        self.lock().dropped.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tcp::{NodeNet, TcpNode};
    use shipper::ShipperTransport;
    use shipper_net::{NetConfig, NetTransport, Segmented, TurmoilNet};

    fn transport(node: &str) -> (Arc<dyn NodeTransport>, Arc<NetTransport<NodeNet>>) {
        let net = Arc::new(NetTransport::new(
            Segmented::off(TurmoilNet::new(["n1", "n2", "n3"])),
            NetConfig::new(node, 1),
        ));
        (Arc::new(TcpNode::new(net.clone())), net)
    }

    #[test]
    fn drops_reach_the_live_transport_and_a_new_life_alike() {
        let routes = Routes::default();
        let (attached, first) = transport("n1");
        routes.attach("n1", &attached);
        routes.drop_route("n1", "n2");
        let (n2, n3) = ("n2".to_owned(), "n3".to_owned());
        assert!(!first.has_route(&n2) && first.has_route(&n3));
        assert_eq!(routes.dropped(), [("n1".to_owned(), n2.clone())]);

        // A drop made while no life of n1 is attached applies when one attaches.
        routes.reset("n1");
        assert!(routes.dropped().is_empty(), "a crash ends the routes its node dropped");
        routes.drop_route("n1", "n3");
        let (attached, second) = transport("n1");
        routes.attach("n1", &attached);
        assert!(second.has_route(&n2) && !second.has_route(&n3));

        routes.restore_route("n1", "n3");
        assert!(second.has_route(&n3));
        routes.drop_route("n1", "n2");
        assert_eq!(routes.restore_all(), [("n1".to_owned(), n2.clone())]);
        assert!(second.has_route(&n2) && routes.dropped().is_empty());
    }
}
