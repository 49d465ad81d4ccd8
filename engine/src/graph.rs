//! The dependency graph over resource addresses. It knows addresses and edges, no kinds:
//! the edges come from [`Resource::dependencies`] (template references, `network =`,
//! `depends_on`). Everything it answers is sorted so that plans, applies and messages come
//! out the same on every run.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::config::model::{Address, Config, Resource};

/// Resources and what they depend on.
#[derive(Debug, Clone)]
pub struct Graph {
    /// An edge runs from a dependency to its dependent: the direction work flows in.
    graph: DiGraph<Address, ()>,
    nodes: BTreeMap<Address, NodeIndex>,
}

/// Resources that depend on each other in a circle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle `{}`", self.path())]
pub struct Cycle {
    /// The circle, starting and ending at its smallest address; each depends on the next.
    pub addresses: Vec<Address>,
}

impl Cycle {
    /// The circle as text: `service.a -> service.b -> service.a`.
    pub fn path(&self) -> String {
        let addresses: Vec<String> = self.addresses.iter().map(ToString::to_string).collect();
        addresses.join(" -> ")
    }
}

impl Graph {
    /// The graph of `config`'s resources, or the first cycle (by smallest address).
    pub fn build(config: &Config) -> Result<Graph, Cycle> {
        let graph = Graph::unchecked(&config.resources);
        match graph.cycles().into_iter().next() {
            Some(cycle) => Err(cycle),
            None => Ok(graph),
        }
    }

    /// The graph, cycles and all. Edges to addresses not among `resources` are left out:
    /// the loader reports those, and checks cycles on whatever else it could read.
    pub(crate) fn unchecked<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Graph {
        let resources: Vec<&Resource> = resources.into_iter().collect();
        let mut graph = DiGraph::new();
        let mut nodes = BTreeMap::new();
        for resource in &resources {
            let address = resource.address.clone();
            nodes
                .entry(address.clone())
                .or_insert_with(|| graph.add_node(address));
        }
        for resource in &resources {
            let dependent = nodes[&resource.address];
            // `dependencies()` is a set, so each edge is added once; `update_edge` would
            // scan the dependency's edges every time (quadratic for a much-used secret).
            for dependency in resource.dependencies() {
                if let Some(&dependency) = nodes.get(dependency) {
                    graph.add_edge(dependency, dependent, ());
                }
            }
        }
        Graph { graph, nodes }
    }

    /// Every cycle, one per group of resources caught in one (a strongly connected
    /// component), each the shortest circle through the group's smallest address; sorted.
    pub(crate) fn cycles(&self) -> Vec<Cycle> {
        let mut cycles: Vec<Cycle> = petgraph::algo::tarjan_scc(&self.graph)
            .into_iter()
            .filter_map(|component| {
                let start = *component.iter().min_by_key(|&&node| &self.graph[node])?;
                let members: BTreeSet<NodeIndex> = component.into_iter().collect();
                self.circle_through(start, &members)
            })
            .collect();
        cycles.sort_by(|a, b| a.addresses.cmp(&b.addresses));
        cycles
    }

    /// The shortest path from `start` through its dependencies back to itself, staying
    /// inside `members`; breadth first, neighbours by address, so it is always the same.
    fn circle_through(&self, start: NodeIndex, members: &BTreeSet<NodeIndex>) -> Option<Cycle> {
        let mut came_from: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            for next in self.sorted_neighbours(node, Direction::Incoming) {
                if next == start {
                    // Walk back from `node` to `start`, then close the circle.
                    let mut path = vec![node];
                    let mut at = node;
                    while at != start {
                        at = came_from[&at];
                        path.push(at);
                    }
                    path.reverse();
                    path.push(start);
                    let addresses = path.iter().map(|&n| self.graph[n].clone()).collect();
                    return Some(Cycle { addresses });
                }
                if members.contains(&next) && !came_from.contains_key(&next) {
                    came_from.insert(next, node);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    fn sorted_neighbours(&self, node: NodeIndex, direction: Direction) -> Vec<NodeIndex> {
        let mut neighbours: Vec<NodeIndex> =
            self.graph.neighbors_directed(node, direction).collect();
        neighbours.sort_by_key(|&n| &self.graph[n]);
        neighbours.dedup();
        neighbours
    }

    fn addresses_of(&self, nodes: impl IntoIterator<Item = NodeIndex>) -> Vec<&Address> {
        let mut addresses: Vec<&Address> = nodes.into_iter().map(|n| &self.graph[n]).collect();
        addresses.sort();
        addresses
    }

    /// Every address, dependencies before dependents; among those ready at the same time,
    /// the smallest address first.
    pub fn order(&self) -> Vec<&Address> {
        let mut waiting_on: BTreeMap<NodeIndex, usize> = self
            .nodes
            .values()
            .map(|&n| {
                (
                    n,
                    self.graph
                        .neighbors_directed(n, Direction::Incoming)
                        .count(),
                )
            })
            .collect();
        let mut ready: BTreeSet<(&Address, NodeIndex)> = waiting_on
            .iter()
            .filter(|&(_, &count)| count == 0)
            .map(|(&n, _)| (&self.graph[n], n))
            .collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some((address, node)) = ready.pop_first() {
            order.push(address);
            for dependent in self.graph.neighbors_directed(node, Direction::Outgoing) {
                let count = waiting_on
                    .get_mut(&dependent)
                    .expect("every node is counted");
                *count -= 1;
                if *count == 0 {
                    ready.insert((&self.graph[dependent], dependent));
                }
            }
        }
        order
    }

    /// [`order`](Self::order) backwards: dependents before their dependencies, for destroy.
    pub fn reverse_order(&self) -> Vec<&Address> {
        let mut order = self.order();
        order.reverse();
        order
    }

    /// Every address in the graph, sorted.
    pub fn addresses(&self) -> impl Iterator<Item = &Address> {
        self.nodes.keys()
    }

    /// True when `address` is in the graph.
    pub fn contains(&self, address: &Address) -> bool {
        self.nodes.contains_key(address)
    }

    /// What `address` depends on directly, sorted; empty for an unknown address.
    pub fn dependencies(&self, address: &Address) -> Vec<&Address> {
        self.direct(address, Direction::Incoming)
    }

    /// What depends on `address` directly, sorted; empty for an unknown address.
    pub fn dependents(&self, address: &Address) -> Vec<&Address> {
        self.direct(address, Direction::Outgoing)
    }

    /// What `address` depends on, directly or through others, sorted.
    pub fn transitive_dependencies(&self, address: &Address) -> Vec<&Address> {
        self.reachable(address, Direction::Incoming)
    }

    /// What depends on `address`, directly or through others, sorted: what to skip when
    /// `address` fails.
    pub fn transitive_dependents(&self, address: &Address) -> Vec<&Address> {
        self.reachable(address, Direction::Outgoing)
    }

    fn direct(&self, address: &Address, direction: Direction) -> Vec<&Address> {
        match self.nodes.get(address) {
            Some(&node) => self.addresses_of(self.sorted_neighbours(node, direction)),
            None => Vec::new(),
        }
    }

    fn reachable(&self, address: &Address, direction: Direction) -> Vec<&Address> {
        let Some(&start) = self.nodes.get(address) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            for next in self.graph.neighbors_directed(node, direction) {
                if next != start && seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        self.addresses_of(seen)
    }
}

impl Graph {
    /// The graph in Graphviz's DOT, nodes named by their addresses, in [`order`](Self::order),
    /// each edge from a resource to what it depends on (as Terraform draws it), every
    /// duplicate reference one edge. Written from the sorted accessors rather than
    /// petgraph's `Dot`, whose numeric node ids and duplicate edges would make two runs'
    /// pictures hard to compare in review.
    pub fn dot(&self) -> String {
        let mut text = String::from("digraph yoyoform {\n  rankdir = \"RL\";\n");
        for address in self.order() {
            text.push_str(&format!("  \"{address}\";\n"));
        }
        for address in self.order() {
            for dependency in self.dependencies(address) {
                text.push_str(&format!("  \"{address}\" -> \"{dependency}\";\n"));
            }
        }
        text.push_str("}\n");
        text
    }

    /// The graph as JSON: every resource in [`order`](Self::order) with what it depends on.
    pub fn to_json(&self) -> serde_json::Value {
        let resources: Vec<serde_json::Value> = self
            .order()
            .into_iter()
            .map(|address| {
                let depends_on: Vec<String> = self
                    .dependencies(address)
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                serde_json::json!({ "address": address.to_string(), "depends_on": depends_on })
            })
            .collect();
        serde_json::json!({ "resources": resources })
    }
}

impl fmt::Display for Graph {
    /// One line per address in order, with what it depends on: `service.a <- network.n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for address in self.order() {
            let dependencies: Vec<String> = self
                .dependencies(address)
                .iter()
                .map(ToString::to_string)
                .collect();
            if dependencies.is_empty() {
                writeln!(f, "{address}")?;
            } else {
                writeln!(f, "{address} <- {}", dependencies.join(", "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::attributes::{Attributes, Resolved};
    use crate::config::model::{Location, Template};
    use crate::config::template;
    use crate::kind::Settings;
    use crate::plan::Instance;
    use crate::resolve::Context;

    fn address(text: &str) -> Address {
        Address::parse(text).unwrap()
    }

    /// The settings of a resource as far as the graph sees them: what they refer to.
    #[derive(Debug, Default)]
    struct Refers {
        templates: Vec<Template>,
        references: Vec<Address>,
    }

    impl Settings for Refers {
        fn templates(&self) -> Vec<&Template> {
            self.templates.iter().collect()
        }

        fn references(&self) -> Vec<&Address> {
            self.references.iter().collect()
        }

        fn export(&self, _: &Context<'_>, _: &Address, _: &str) -> Resolved {
            unreachable!("the graph resolves nothing")
        }

        fn desired(&self, _: &Context<'_>, _: &Instance) -> Result<Attributes, crate::Error> {
            unreachable!("the graph resolves nothing")
        }
    }

    /// A network resource `name` with `depends_on` edges: the graph needs no more.
    fn node(name: &str, depends_on: &[&str]) -> Resource {
        Resource {
            address: address(&format!("network.{name}")),
            settings: Box::new(Refers::default()),
            depends_on: depends_on
                .iter()
                .map(|name| address(&format!("network.{name}")))
                .collect(),
            location: Location::default(),
        }
    }

    fn config(resources: Vec<Resource>) -> Config {
        Config {
            path: PathBuf::from("env.toml"),
            root: PathBuf::from("."),
            tree: std::sync::Arc::new(resources::source::Disk),
            review: false,
            project: "test".to_owned(),
            target: Default::default(),
            registry: None,
            variables: BTreeMap::new(),
            resources,
            outputs: BTreeMap::new(),
        }
    }

    fn graph(nodes: &[(&str, &[&str])]) -> Result<Graph, Cycle> {
        Graph::build(&config(
            nodes
                .iter()
                .map(|(name, depends_on)| node(name, depends_on))
                .collect(),
        ))
    }

    fn names(addresses: Vec<&Address>) -> Vec<&str> {
        addresses.into_iter().map(|a| a.name.as_str()).collect()
    }

    #[test]
    fn orders() {
        type Case<'a> = (&'a [(&'a str, &'a [&'a str])], &'a [&'a str]);
        let table: &[Case] = &[
            (&[], &[]),
            // A chain, declared backwards.
            (
                &[("c", &["b"]), ("b", &["a"]), ("a", &[])],
                &["a", "b", "c"],
            ),
            // A diamond: b and c both wait for a, d for both.
            (
                &[("d", &["c", "b"]), ("c", &["a"]), ("b", &["a"]), ("a", &[])],
                &["a", "b", "c", "d"],
            ),
            // Independent resources come out by address.
            (&[("z", &[]), ("m", &[]), ("a", &[])], &["a", "m", "z"]),
            // Ties go by address, not by depth: `y` is ready before `b` is.
            (&[("b", &["z"]), ("y", &[]), ("z", &[])], &["y", "z", "b"]),
            // Edges to undeclared addresses are not the graph's business.
            (&[("a", &["missing"])], &["a"]),
        ];
        for (nodes, expected) in table {
            let graph = graph(nodes).unwrap();
            assert_eq!(names(graph.order()), *expected, "{nodes:?}");
            let mut reversed = expected.to_vec();
            reversed.reverse();
            assert_eq!(names(graph.reverse_order()), reversed, "{nodes:?}");
        }
    }

    #[test]
    fn neighbours() {
        let graph = graph(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["a"]),
            ("d", &["b", "c"]),
            ("e", &["d"]),
            ("f", &[]),
        ])
        .unwrap();
        let a = address("network.a");
        let d = address("network.d");
        assert_eq!(names(graph.dependencies(&d)), ["b", "c"]);
        assert_eq!(names(graph.dependents(&a)), ["b", "c"]);
        assert_eq!(names(graph.transitive_dependents(&a)), ["b", "c", "d", "e"]);
        assert_eq!(names(graph.transitive_dependencies(&d)), ["a", "b", "c"]);
        assert_eq!(names(graph.transitive_dependencies(&a)), Vec::<&str>::new());
        let unknown = address("network.zzz");
        assert!(graph.dependencies(&unknown).is_empty());
        assert!(graph.transitive_dependents(&unknown).is_empty());
        assert!(graph.contains(&a) && !graph.contains(&unknown));
        assert_eq!(graph.addresses().count(), 6);
        assert_eq!(
            graph.to_string(),
            "network.a\nnetwork.b <- network.a\nnetwork.c <- network.a\n\
             network.d <- network.b, network.c\nnetwork.e <- network.d\nnetwork.f\n"
        );
    }

    #[test]
    fn cycles() {
        type Case<'a> = (&'a [(&'a str, &'a [&'a str])], &'a str);
        let table: &[Case] = &[
            (&[("a", &["a"])], "network.a -> network.a"),
            (
                &[("a", &["b"]), ("b", &["a"])],
                "network.a -> network.b -> network.a",
            ),
            // Declared in another order, named from the smallest address.
            (
                &[("c", &["a"]), ("b", &["c"]), ("a", &["b"])],
                "network.a -> network.b -> network.c -> network.a",
            ),
            // The shortest circle through the smallest address, outside ones left out.
            (
                &[
                    ("x", &[]),
                    ("a", &["b", "x"]),
                    ("b", &["c", "a"]),
                    ("c", &["a"]),
                ],
                "network.a -> network.b -> network.a",
            ),
            // Two separate cycles: the first by address is the error.
            (
                &[("p", &["q"]), ("q", &["p"]), ("m", &["n"]), ("n", &["m"])],
                "network.m -> network.n -> network.m",
            ),
        ];
        for (nodes, expected) in table {
            let cycle = graph(nodes).unwrap_err();
            assert_eq!(cycle.path(), *expected, "{nodes:?}");
            assert_eq!(cycle.to_string(), format!("dependency cycle `{expected}`"));
        }
    }

    #[test]
    fn every_cycle_is_found_for_the_loader() {
        let resources = vec![node("p", &["q"]), node("q", &["p"]), node("m", &["m"])];
        let cycles: Vec<String> = Graph::unchecked(&resources)
            .cycles()
            .iter()
            .map(Cycle::path)
            .collect();
        assert_eq!(
            cycles,
            [
                "network.m -> network.m",
                "network.p -> network.q -> network.p"
            ]
        );
    }

    /// References in templates and `network =` are edges as much as `depends_on` is.
    #[test]
    fn edges_from_references_and_networks() {
        let service = |name: &str, env: &[(&str, &str)], network: Option<&str>| Resource {
            address: address(&format!("service.{name}")),
            settings: Box::new(Refers {
                templates: env
                    .iter()
                    .map(|(_, value)| template::parse(value).unwrap())
                    .chain([Template { parts: vec![] }])
                    .collect(),
                references: network.map(address).into_iter().collect(),
            }),
            depends_on: Vec::new(),
            location: Location::default(),
        };
        let secret = Resource {
            address: address("secret.jwt"),
            settings: Box::new(Refers::default()),
            depends_on: vec![address("network.net")],
            location: Location::default(),
        };
        let graph = Graph::build(&config(vec![
            service(
                "web",
                &[("API", "${service.api.url}"), ("PORT", "${var.port}")],
                Some("network.net"),
            ),
            service("api", &[("KEY", "x${secret.jwt.value}y")], None),
            secret,
            node("net", &[]),
        ]))
        .unwrap();
        let order: Vec<String> = graph.order().iter().map(ToString::to_string).collect();
        assert_eq!(
            order,
            ["network.net", "secret.jwt", "service.api", "service.web"]
        );
        let web = address("service.web");
        let dependencies: Vec<String> = graph
            .dependencies(&web)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(dependencies, ["network.net", "service.api"]);

        let cyclic = Graph::build(&config(vec![
            service("a", &[("B", "${service.b.host}")], None),
            service("b", &[("A", "${service.a.url}")], None),
        ]));
        assert_eq!(
            cyclic.unwrap_err().path(),
            "service.a -> service.b -> service.a"
        );
    }
}
