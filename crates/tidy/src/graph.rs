//! Strongly connected components of a directed graph (Tarjan's algorithm), for
//! [`crate::imports`]: a component of more than one node is a loop.

use std::collections::{BTreeMap, BTreeSet};

/// A directed graph: each node and the nodes it has an edge to. A node that only
/// appears as a target need not be a key.
pub(crate) type Graph = BTreeMap<String, BTreeSet<String>>;

/// The components of more than one node, each sorted, in sorted order: the same graph
/// always gives the same answer, whatever order its edges were found in.
pub(crate) fn loops(graph: &Graph) -> Vec<Vec<String>> {
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.connect(node);
        }
    }
    let mut out: Vec<Vec<String>> = tarjan
        .components
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut names: Vec<String> = c.into_iter().map(str::to_owned).collect();
            names.sort();
            names
        })
        .collect();
    out.sort();
    out
}

struct Tarjan<'g> {
    graph: &'g Graph,
    /// The order each node was first reached in.
    index: BTreeMap<&'g str, usize>,
    /// The lowest index reachable from each node through the nodes on the stack.
    low: BTreeMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: BTreeSet<&'g str>,
    components: Vec<Vec<&'g str>>,
}

impl<'g> Tarjan<'g> {
    fn connect(&mut self, node: &'g str) {
        let n = self.index.len();
        self.index.insert(node, n);
        self.low.insert(node, n);
        self.stack.push(node);
        self.on_stack.insert(node);
        for next in self.graph.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !self.index.contains_key(next) {
                self.connect(next);
                let low = self.low[node].min(self.low[next]);
                self.low.insert(node, low);
            } else if self.on_stack.contains(next) {
                let low = self.low[node].min(self.index[next]);
                self.low.insert(node, low);
            }
        }
        if self.low[node] == self.index[node] {
            let mut component = Vec::new();
            while let Some(top) = self.stack.pop() {
                self.on_stack.remove(top);
                component.push(top);
                if top == node {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::new();
        for (from, to) in edges {
            g.entry(from.to_string()).or_default().insert(to.to_string());
        }
        g
    }

    #[test]
    fn a_dag_has_no_loops() {
        assert!(loops(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    }

    #[test]
    fn each_loop_is_one_sorted_component() {
        let g = graph(&[("c", "a"), ("a", "b"), ("b", "c"), ("b", "d"), ("d", "e"), ("e", "d"), ("x", "x")]);
        assert_eq!(loops(&g), [vec!["a", "b", "c"], vec!["d", "e"]]);
    }
}
