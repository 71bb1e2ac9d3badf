//! ShardMap: oxirs's key → shard function, and a placement that depends only
//! on membership and moves the minimum on a change.

use proptest::prelude::*;
use shipper::{ShardMap, ShardMapError, fnv1a_64};

#[test]
fn fnv1a_64_matches_reference_vectors() {
    // From the FNV reference test suite (Fowler/Noll/Vo).
    assert_eq!(fnv1a_64(b""), 0xcbf29ce484222325);
    assert_eq!(fnv1a_64(b"a"), 0xaf63dc4c8601ec8c);
    assert_eq!(fnv1a_64(b"foobar"), 0x85944171f73967e8);
}

#[test]
fn shard_is_fnv_modulo_n() {
    let map = ShardMap::new(16).expect("16 shards");
    assert_eq!(map.shard_for("foobar"), (0x85944171f73967e8u64 % 16) as u32);
    assert_eq!(ShardMap::new(0), Err(ShardMapError::ZeroShards));
}

#[test]
fn owner_errors_are_specific() {
    let empty = ShardMap::new(4).expect("map");
    assert_eq!(empty.owner(0), Err(ShardMapError::NoNodes));
    let map = ShardMap::with_nodes(4, ["a", "b"]).expect("map");
    assert_eq!(map.owner(4), Err(ShardMapError::InvalidShard { shard: 4, n_shards: 4 }));
    assert_eq!(ShardMap::with_nodes(4, ["a", "a"]), Err(ShardMapError::DuplicateNode("a".into())));
    let mut map = map;
    assert_eq!(map.remove_node("zz"), Err(ShardMapError::UnknownNode("zz".into())));
    assert_eq!(map.add_node("a"), Err(ShardMapError::DuplicateNode("a".into())));
}

/// oxirs moved 9 of 12 shards going from 3 to 4 nodes; only the shards the
/// new node wins may move.
#[test]
fn growing_three_to_four_moves_only_the_new_nodes_shards() {
    let mut map = ShardMap::with_nodes(12, ["n1", "n2", "n3"]).expect("map");
    let plan = map.add_node("n4").expect("join");
    assert_eq!(plan.epoch, 1);
    assert!(plan.moves.iter().all(|m| m.to.as_deref() == Some("n4")));
    let owned_by_new = map.assignment().values().filter(|n| *n == "n4").count();
    assert_eq!(plan.moves.len(), owned_by_new);
    assert!(plan.moves.len() < 9, "{} moves", plan.moves.len());
}

#[test]
fn epoch_increases_on_every_change() {
    let mut map = ShardMap::with_nodes(8, ["a"]).expect("map");
    assert_eq!(map.epoch(), 0);
    map.add_node("b").expect("join");
    map.remove_node("a").expect("leave");
    assert_eq!(map.epoch(), 2);
    let plan = map.remove_node("b").expect("last leaves");
    assert!(plan.new_assignment.is_empty());
    assert!(plan.moves.iter().all(|m| m.to.is_none()));
}

fn node_names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-z][a-z0-9-]{0,8}", 1..9).prop_map(|s| s.into_iter().collect())
}

proptest! {
    #[test]
    fn owners_do_not_depend_on_join_order(
        names in node_names(),
        shards in 1u32..256,
        rotate in 0usize..8,
    ) {
        let sorted = ShardMap::with_nodes(shards, names.clone()).expect("map");
        let mut order = names.clone();
        order.reverse();
        let r = rotate % order.len();
        order.rotate_left(r);
        let mut joined = ShardMap::new(shards).expect("map");
        for name in order {
            joined.add_node(name).expect("join");
        }
        prop_assert_eq!(sorted.assignment(), joined.assignment());
    }

    #[test]
    fn a_join_moves_only_shards_to_the_new_node(names in node_names(), shards in 1u32..256) {
        let (newcomer, rest) = names.split_last().expect("non-empty");
        let mut map = ShardMap::with_nodes(shards, rest.to_vec()).expect("map");
        let before = map.assignment();
        let plan = map.add_node(newcomer.clone()).expect("join");
        for (shard, owner) in map.assignment() {
            if before.get(&shard) != Some(&owner) {
                prop_assert_eq!(&owner, newcomer);
            }
        }
        prop_assert!(plan.moves.iter().all(|m| m.to.as_ref() == Some(newcomer)));
    }

    #[test]
    fn a_leave_moves_only_the_leavers_shards(names in node_names(), shards in 1u32..256, pick in 0usize..8) {
        let leaver = names[pick % names.len()].clone();
        let mut map = ShardMap::with_nodes(shards, names.clone()).expect("map");
        let before = map.assignment();
        let plan = map.remove_node(&leaver).expect("leave");
        prop_assert!(plan.moves.iter().all(|m| m.from.as_ref() == Some(&leaver)));
        let moved = before.values().filter(|n| **n == leaver).count();
        prop_assert_eq!(plan.moves.len(), moved);
    }

    /// Balance: with at least 256 shards per node, every node owns between
    /// half and one and a half times its fair share. (Rendezvous ownership is
    /// binomial: at 64 shards per node the bound is about 4 standard
    /// deviations, which a random name set breaks now and then, a flaky
    /// test; at 256 it is 8.)
    #[test]
    fn placement_is_balanced(names in node_names(), per_node in 256u32..512) {
        let shards = per_node * names.len() as u32;
        let map = ShardMap::with_nodes(shards, names.clone()).expect("map");
        let assignment = map.assignment();
        for name in &names {
            let owned = assignment.values().filter(|n| *n == name).count() as u32;
            prop_assert!(owned * 2 >= per_node && owned * 2 <= per_node * 3,
                "{} owns {} of {} (fair share {})", name, owned, shards, per_node);
        }
    }
}
