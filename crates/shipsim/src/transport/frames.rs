//! Whether every frame a scenario's run can send fits its transport's frame limit.
//!
//! A frame over `transport.max_frame` is refused by the sending transport (the event is
//! reported not delivered), which a scenario author setting sizes means to test never: so a
//! workload that can make one is a bad scenario, reported where it is written. An event frame
//! is the payload, the key, the source node's name and a fixed header (`shipper_net::codec`);
//! the bounds are computed with the codec's own functions, from the longest name, the longest
//! key and the longest payload the workload can generate.

use shipper::ShippedEvent;
use shipper_net::Frame;
use shipper_net::codec::{encode_frame, event_frame_bound};

use crate::payload::payload_len_bound;
use crate::scenario::{Workload, format_size};

/// The body of the `Hello` frame `node` opens its connections with.
fn hello_len(node: &str) -> u64 {
    let hello: Frame<ShippedEvent> =
        Frame::Hello { version: 0, node: node.to_owned(), life: 0, slot: 0, stream: 0, base: 0, conn: 0 };
    encode_frame(&hello, usize::MAX).map_or(u64::MAX, |b| b.len() as u64 - 4)
}

/// The largest event frame body: the longest payload, key and name, and the fixed fields.
/// Also returns the payload bound and the header without the payload (for messages).
fn event_len(nodes: &[String], workload: &Workload) -> (u64, u64) {
    let longest = longest(nodes);
    let key = format!("k{}", workload.keys.saturating_sub(1));
    let header = ShippedEvent { shard: 0, key, payload: Vec::new(), source: longest.to_owned() };
    let payload = payload_len_bound(workload, nodes);
    (event_frame_bound(&header) as u64 + payload, payload)
}

fn longest(nodes: &[String]) -> &str {
    nodes.iter().max_by_key(|n| n.len()).map(String::as_str).unwrap_or_default()
}

/// The smallest `max_frame` every frame of the scenario fits (generated scenarios use it).
#[cfg(test)]
pub(crate) fn required_max_frame(nodes: &[String], workload: &Workload) -> u64 {
    let events = if workload.events == 0 { 0 } else { event_len(nodes, workload).0 };
    hello_len(longest(nodes)).max(events)
}

/// `Err` says which frame does not fit and by how much.
pub(crate) fn check_fit(nodes: &[String], workload: &Workload, max_frame: u64) -> Result<(), String> {
    let node = longest(nodes);
    let hello = hello_len(node);
    if hello > max_frame {
        return Err(format!(
            "max_frame {} cannot hold the {hello}-byte hello frame of node `{node}`",
            format_size(max_frame)
        ));
    }
    if workload.events == 0 {
        return Ok(());
    }
    let (frame, payload) = event_len(nodes, workload);
    if frame > max_frame {
        let key = workload.keys.saturating_sub(1).to_string().len() as u64 + 1;
        return Err(format!(
            "an event frame can be {frame} bytes (a payload of up to {payload}, its key, its source's name \
             and {} bytes of fields), more than max_frame {}: payload + key + names must fit max_frame",
            frame - payload - key - node.len() as u64,
            format_size(max_frame)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::SizeRange;

    fn nodes() -> Vec<String> {
        vec!["n1".into(), "n2".into()]
    }

    #[test]
    fn the_default_workload_fits_a_small_frame() {
        assert_eq!(check_fit(&nodes(), &Workload::default(), 1024), Ok(()));
    }

    #[test]
    fn a_payload_must_leave_room_for_key_names_and_fields() {
        let payload = Some(SizeRange { min: 16, max: 1000 });
        let workload = Workload { payload, keys: 10, ..Workload::default() };
        // 1000 + "k9" + "n1" + 45 bytes of fields.
        assert_eq!(check_fit(&nodes(), &workload, 1049), Ok(()));
        let err = check_fit(&nodes(), &workload, 1048).unwrap_err();
        assert!(err.starts_with("an event frame can be 1049 bytes (a payload of up to 1000,"), "{err}");
        assert!(err.contains("45 bytes of fields") && err.contains("more than max_frame 1048B"), "{err}");
    }

    #[test]
    fn a_long_name_must_fit_the_hello() {
        let long = vec!["n".repeat(100)];
        let err = check_fit(&long, &Workload { events: 0, ..Workload::default() }, 100).unwrap_err();
        assert_eq!(err, format!("max_frame 100B cannot hold the 145-byte hello frame of node `{}`", long[0]));
    }

    #[test]
    fn the_required_frame_is_the_tightest_that_fits() {
        let payload = Some(SizeRange { min: 16, max: 5000 });
        let workload = Workload { payload, ..Workload::default() };
        let need = required_max_frame(&nodes(), &workload);
        assert_eq!(check_fit(&nodes(), &workload, need), Ok(()));
        assert!(check_fit(&nodes(), &workload, need - 1).is_err());
    }
}
