//! The diagram's coverage marks: where each probe was first hit in each node life (the trace's
//! `life-probes` records), each node's adoption of each membership epoch (`adopt`), and whether
//! each fault had an effect (`fault-effect`, shown on the fault's label).

use shipsim_trace::{Micros, Record};

/// A probe's first hit in one node life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeMark {
    /// When it was first hit in that life.
    pub t: Micros,
    /// The node's lane.
    pub lane: usize,
    /// The life.
    pub life: u32,
    /// The probe.
    pub name: String,
    /// Its hits in that life.
    pub hits: u64,
}

/// A node installing the shard map of a membership epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdoptMark {
    /// When.
    pub t: Micros,
    /// The node's lane.
    pub lane: usize,
    /// The life that installed it.
    pub life: u32,
    /// The epoch.
    pub epoch: u64,
    /// Shards whose owner the install changed, as the node computed them.
    pub moved: usize,
}

/// A fault's effect, as the harness judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EffectMark {
    /// Whether it had one.
    pub effect: bool,
    /// What it was, or why there was none.
    pub why: String,
}

/// The coverage marks of a trace, by node name until the lanes are known.
#[derive(Debug, Default)]
pub(super) struct Marks {
    probes: Vec<(String, ProbeMark)>,
    adopts: Vec<(String, AdoptMark)>,
    /// Per fault (its place among the `fault` records), its effect.
    pub effects: Vec<(usize, EffectMark)>,
}

impl Marks {
    /// Takes in `r` if it is one of the records the marks come from.
    pub(super) fn scan(&mut self, r: &Record) {
        match r {
            Record::LifeProbes(p) => {
                for (name, hits) in &p.hits {
                    let t = p.first_us.get(name).copied().unwrap_or(p.t);
                    let mark = ProbeMark { t, lane: 0, life: p.life, name: name.to_string(), hits: *hits };
                    self.probes.push((p.node.to_string(), mark));
                }
            }
            Record::Adopt { t, node, life, epoch, moved } => {
                let mark = AdoptMark { t: *t, lane: 0, life: *life, epoch: *epoch, moved: moved.len() };
                self.adopts.push((node.to_string(), mark));
            }
            Record::FaultEffect(e) => {
                let mark = EffectMark { effect: e.effect, why: e.why.clone() };
                self.effects.push((e.fault as usize, mark));
            }
            _ => {}
        }
    }

    /// The probe and adoption marks on the lanes `lane_of` finds (marks of other nodes are
    /// dropped), in time order.
    pub(super) fn place(self, lane_of: impl Fn(&str) -> Option<usize>) -> (Vec<ProbeMark>, Vec<AdoptMark>) {
        let mut probes: Vec<ProbeMark> = self
            .probes
            .into_iter()
            .filter_map(|(node, mark)| Some(ProbeMark { lane: lane_of(&node)?, ..mark }))
            .collect();
        probes.sort_by(|a, b| (a.t, a.lane, &a.name).cmp(&(b.t, b.lane, &b.name)));
        let adopts = self
            .adopts
            .into_iter()
            .filter_map(|(node, mark)| Some(AdoptMark { lane: lane_of(&node)?, ..mark }))
            .collect();
        (probes, adopts)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::html::layout::{Layout, tests::records};
    use shipsim_trace::{FaultEffect, LifeProbes, Phase};

    /// The tiny run of the layout's tests, with a probe hit in n1's life, n2's second life
    /// adopting epoch 1, and its crash judged to have done nothing.
    pub(crate) fn records_with_marks() -> Vec<Record> {
        let mut r = records();
        let end = r.iter().position(|r| matches!(r, Record::Phase { phase: Phase::End, .. })).unwrap();
        let probes = LifeProbes {
            t: 1000,
            node: "n1".into(),
            life: 1,
            hits: [("tcp.ack-timeout".into(), 3)].into(),
            first_us: [("tcp.ack-timeout".into(), 250)].into(),
        };
        let effect = FaultEffect { t: 1000, fault: 0, at: 300, effect: false, why: "n2 was idle".into() };
        let adopt = Record::Adopt { t: 600, node: "n2".into(), life: 2, epoch: 1, moved: vec![3, 4] };
        r.splice(
            end..end,
            [adopt, Record::LifeProbes(Box::new(probes)), Record::FaultEffect(Box::new(effect))],
        );
        r
    }

    #[test]
    fn probe_hits_adoptions_and_fault_effects_reach_the_layout_and_the_page() {
        let r = records_with_marks();
        let l = Layout::of(&r);
        let probe = ProbeMark { t: 250, lane: 0, life: 1, name: "tcp.ack-timeout".into(), hits: 3 };
        assert_eq!(l.probes, [probe]);
        assert_eq!(l.adoptions, [AdoptMark { t: 600, lane: 1, life: 2, epoch: 1, moved: 2 }]);
        assert_eq!(l.faults[0].effect, Some(EffectMark { effect: false, why: "n2 was idle".into() }));
        let page = crate::html_page(&r);
        assert!(page.contains("<text class=\"fault-label idle\""), "{page}");
        assert!(page.contains("(did nothing: n2 was idle)"));
        assert!(page.contains("n1 life 1: probe tcp.ack-timeout first hit at"));
        assert!(page.contains(">e1<title>n2 life 2 adopts epoch 1 at"));
        // Without the records, nothing is marked and no label is dimmed.
        let plain = crate::html_page(&records());
        assert!(!plain.contains("class=\"probe\"") && !plain.contains("fault-label idle"));
    }
}
