//! Task placement: which container instance each new task goes to, as ECS decides it.
//!
//! An instance is a candidate when it is `ACTIVE`, its agent is connected, it has the CPU,
//! memory and host ports the task reserves left, and it passes every placement constraint
//! (`memberOf` expressions, `distinctInstance`). Among candidates the strategies pick, in
//! order: `binpack` (least of the field left), `spread` (fewest live tasks on the instance,
//! or under the attribute's value), `random`. Each placement is subtracted before the next,
//! so one call never overcommits, and callers hold the cluster's placement lock from reading
//! the instances to writing the tasks, so concurrent calls cannot either. Pure: callers load
//! the instances and write the tasks.

use std::collections::{HashMap, HashSet};

use aws_protocol::AwsError;
use serde_json::Value as Json;

use super::model::container_instance::{Candidate, ContainerInstance, ContainerInstanceStatus, Groups, Reserved};
use super::query::Query;
use crate::ecs::invalid_parameter;

/// What one task reserves on its instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demand {
    pub cpu: i64,
    pub memory: i64,
    /// Fixed host ports (`"80"` for TCP, `"53/udp"` for UDP); dynamic ones reserve nothing.
    pub ports: Vec<String>,
}

/// A placement constraint.
#[derive(Debug, Clone)]
pub enum Constraint {
    DistinctInstance,
    MemberOf(Query),
}

/// A placement strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    Binpack { field: String },
    Spread { field: String },
    Random,
}

/// The task groups placement must count: every group when a `memberOf` expression reads
/// `task:group`, the group being placed for `distinctInstance`, else none.
pub fn groups_needed<'a>(constraints: &[Constraint], group: &'a str) -> Groups<'a> {
    if constraints.iter().any(|c| matches!(c, Constraint::MemberOf(query) if query.reads_groups())) {
        Groups::All
    } else if constraints.iter().any(|c| matches!(c, Constraint::DistinctInstance)) {
        Groups::Only(group)
    } else {
        Groups::None
    }
}

/// Whether every strategy ranks an instance by that instance alone (`binpack`, `spread` over
/// instances), so that instances that cannot take a task never change which one is chosen.
/// `random` draws by position among all `ACTIVE` instances and `spread` over an attribute
/// counts the tasks of every instance sharing the value: those need every instance.
pub fn ranks_each_instance_alone(strategies: &[Strategy]) -> bool {
    strategies.iter().all(|strategy| match strategy {
        Strategy::Binpack { .. } => true,
        Strategy::Spread { field } => field == "instanceId" || field == "host",
        Strategy::Random => false,
    })
}

/// Reads `placementConstraints` (request and task definition alike).
pub fn constraints(value: Option<&Json>) -> Result<Vec<Constraint>, AwsError> {
    let items = value.and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    if items.len() > 10 {
        return Err(invalid_parameter("placementConstraints can have at most 10 items."));
    }
    items
        .iter()
        .map(|item| match item.get("type").and_then(Json::as_str) {
            Some("distinctInstance") => Ok(Constraint::DistinctInstance),
            Some("memberOf") => {
                let expression = item.get("expression").and_then(Json::as_str).unwrap_or_default();
                Ok(Constraint::MemberOf(Query::parse(expression)?))
            }
            other => Err(invalid_parameter(format!("Invalid placement constraint type: {}", other.unwrap_or("null")))),
        })
        .collect()
}

/// A task definition's placement constraints: its `placementConstraints`, and its
/// `runtimePlatform` as the instance attributes that platform has (`ecs.os-type`,
/// `ecs.cpu-architecture`, which the agent reports), so a task never lands on an instance
/// of another operating system or architecture.
pub fn definition_constraints(definition: &Json) -> Result<Vec<Constraint>, AwsError> {
    let mut all = constraints(definition.get("placementConstraints"))?;
    all.extend(platform_constraints(definition)?);
    Ok(all)
}

/// The `memberOf` constraints of a task definition's `runtimePlatform` (none without one).
/// Its values are the model's enums (validated before): `LINUX` or a `WINDOWS_*` family,
/// `X86_64` or `ARM64`.
pub fn platform_constraints(definition: &Json) -> Result<Vec<Constraint>, AwsError> {
    let platform = definition.get("runtimePlatform");
    let member = |name: &str| platform.and_then(|p| p.get(name)).and_then(Json::as_str);
    let mut expressions = Vec::new();
    if let Some(family) = member("operatingSystemFamily") {
        let os = if family == "LINUX" { "linux" } else { "windows" };
        expressions.push(format!("attribute:ecs.os-type == {os}"));
    }
    if let Some(architecture) = member("cpuArchitecture") {
        expressions.push(format!("attribute:ecs.cpu-architecture == {}", architecture.to_ascii_lowercase()));
    }
    expressions.iter().map(|expression| Ok(Constraint::MemberOf(Query::parse(expression)?))).collect()
}

/// Reads `placementStrategy`; the default spreads over instances.
pub fn strategies(value: Option<&Json>) -> Result<Vec<Strategy>, AwsError> {
    let items = value.and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    if items.len() > 5 {
        return Err(invalid_parameter("placementStrategy can have at most 5 items."));
    }
    if items.is_empty() {
        return Ok(vec![Strategy::Spread { field: "instanceId".to_owned() }]);
    }
    items
        .iter()
        .map(|item| {
            let field = item.get("field").and_then(Json::as_str).unwrap_or_default().to_owned();
            match item.get("type").and_then(Json::as_str) {
                Some("binpack") if field == "cpu" || field == "memory" => Ok(Strategy::Binpack { field }),
                Some("binpack") => Err(invalid_parameter("binpack placement strategy field must be cpu or memory.")),
                Some("spread") if !field.is_empty() => Ok(Strategy::Spread { field }),
                Some("spread") => Err(invalid_parameter("spread placement strategy requires a field.")),
                Some("random") => Ok(Strategy::Random),
                other => {
                    Err(invalid_parameter(format!("Invalid placement strategy type: {}", other.unwrap_or("null"))))
                }
            }
        })
        .collect()
}

/// Whether `instance` satisfies every `memberOf` constraint: what the instance of a running
/// `DAEMON` task must keep satisfying (`distinctInstance` concerns placement alone).
pub fn satisfies_member_of(
    instance: &ContainerInstance,
    reserved: &Reserved,
    constraints: &[Constraint],
    now: i64,
) -> bool {
    let candidate = Candidate { instance, reserved, now };
    constraints.iter().all(|constraint| match constraint {
        Constraint::MemberOf(query) => query.matches(&candidate),
        Constraint::DistinctInstance => true,
    })
}

/// One instance during placement: what is left on it and what runs there.
struct Slot<'a> {
    instance: &'a ContainerInstance,
    reserved: Reserved,
    /// Tasks of the group being placed, on this instance.
    group_tasks: usize,
    /// Host ports taken (computed only when the task needs fixed ports).
    taken: HashSet<String>,
}

impl Slot<'_> {
    fn cpu_left(&self) -> i64 {
        self.instance.cpu() - self.reserved.cpu
    }

    fn memory_left(&self) -> i64 {
        self.instance.memory() - self.reserved.memory
    }

    fn ports_taken(instance: &ContainerInstance, reserved: &Reserved) -> HashSet<String> {
        let mut taken: HashSet<String> = instance.reserved_ports().collect();
        taken.extend(reserved.ports.iter().cloned());
        taken
    }

    /// Tasks running or starting here (what spreading over instances evens out).
    fn live_tasks(&self) -> i64 {
        self.reserved.running + self.reserved.pending
    }

    /// Why this instance cannot take the task, in ECS's words; `None` if it can.
    fn refusal(&self, demand: &Demand, constraints: &[Constraint], now: i64) -> Option<&'static str> {
        if !self.instance.connected(now) {
            return Some("AGENT");
        }
        let candidate = Candidate { instance: self.instance, reserved: &self.reserved, now };
        for constraint in constraints {
            let passes = match constraint {
                Constraint::DistinctInstance => self.group_tasks == 0,
                Constraint::MemberOf(query) => query.matches(&candidate),
            };
            if !passes {
                return Some("ATTRIBUTE");
            }
        }
        if self.cpu_left() < demand.cpu {
            return Some("RESOURCE:CPU");
        }
        if self.memory_left() < demand.memory {
            return Some("RESOURCE:MEMORY");
        }
        if demand.ports.iter().any(|port| self.taken.contains(port)) {
            return Some("RESOURCE:PORTS");
        }
        None
    }
}

/// Where tasks went and why the rest could not go anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// The instance ARN of each placed task, in order.
    pub placed: Vec<String>,
    /// `(instance ARN or None, reason)`: ECS's `failures`.
    pub failures: Vec<(Option<String>, String)>,
}

/// A small, deterministic pseudo-random sequence for the `random` strategy.
fn shuffle_key(seed: u64, index: usize) -> u64 {
    let mut x = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

/// Places `count` tasks of `group` demanding `demand` each.
#[allow(clippy::too_many_arguments, reason = "the placement request has this many parts")]
pub fn place(
    instances: &[ContainerInstance],
    reserved: &HashMap<String, Reserved>,
    demand: &Demand,
    count: usize,
    group: &str,
    constraints: &[Constraint],
    strategies: &[Strategy],
    now: i64,
    seed: u64,
) -> Placement {
    let mut slots: Vec<Slot<'_>> = instances
        .iter()
        .filter(|instance| instance.status == ContainerInstanceStatus::Active)
        .map(|instance| {
            let reserved = reserved.get(&instance.arn).cloned().unwrap_or_default();
            let group_tasks = reserved.groups.iter().filter(|g| g.as_str() == group).count();
            let taken = if demand.ports.is_empty() { HashSet::new() } else { Slot::ports_taken(instance, &reserved) };
            Slot { instance, reserved, group_tasks, taken }
        })
        .collect();
    let mut placement = Placement::default();
    if slots.is_empty() {
        placement.failures.push((None, "No Container Instances were found in your cluster.".to_owned()));
        return placement;
    }
    for round in 0..count {
        let mut refusals = Vec::new();
        let mut fitting = Vec::new();
        for (index, slot) in slots.iter().enumerate() {
            match slot.refusal(demand, constraints, now) {
                Some(reason) => refusals.push((Some(slot.instance.arn.clone()), reason.to_owned())),
                None => fitting.push(index),
            }
        }
        let Some(chosen) = choose(&slots, &fitting, strategies, seed.wrapping_add(round as u64)) else {
            placement.failures.extend(refusals);
            break;
        };
        let Some(slot) = slots.get_mut(chosen) else { break };
        slot.reserved.cpu += demand.cpu;
        slot.reserved.memory += demand.memory;
        slot.reserved.ports.extend(demand.ports.iter().cloned());
        slot.taken.extend(demand.ports.iter().cloned());
        slot.reserved.pending += 1;
        slot.reserved.groups.push(group.to_owned());
        slot.group_tasks += 1;
        placement.placed.push(slot.instance.arn.clone());
    }
    placement
}

/// The best fitting slot under the strategies (earlier strategies dominate).
fn choose(slots: &[Slot<'_>], fitting: &[usize], strategies: &[Strategy], seed: u64) -> Option<usize> {
    // A key per strategy (at most five), compared lexicographically; smaller is better.
    let key = |index: usize| -> [i64; 5] {
        let mut key = [0; 5];
        let Some(slot) = slots.get(index) else { return key };
        for (place, strategy) in key.iter_mut().zip(strategies) {
            *place = match strategy {
                Strategy::Binpack { field } if field == "cpu" => slot.cpu_left(),
                Strategy::Binpack { .. } => slot.memory_left(),
                Strategy::Spread { field } if field == "instanceId" || field == "host" => slot.live_tasks(),
                Strategy::Spread { field } => {
                    // Spread over an attribute's values: prefer the value with fewest tasks.
                    let name = field.strip_prefix("attribute:").unwrap_or(field);
                    let value = slot.instance.attribute(name);
                    slots.iter().filter(|other| other.instance.attribute(name) == value).map(Slot::live_tasks).sum()
                }
                Strategy::Random => i64::try_from(shuffle_key(seed, index) >> 1).unwrap_or(0),
            };
        }
        key
    };
    fitting.iter().copied().min_by_key(|&index| (key(index), index))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ecs::model::container_instance::Spec;

    fn instance(id: &str, cpu: i64, memory: i64, attribute: &str) -> ContainerInstance {
        ContainerInstance {
            arn: format!("arn:aws:ecs:us-east-1:111122223333:container-instance/c/{id}"),
            instance_id: format!("mi-{id}"),
            status: ContainerInstanceStatus::Active,
            status_reason: None,
            spec: std::sync::Arc::new(
                Spec::from_json(
                    &json!([
                        {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
                        {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
                    ]),
                    &json!([{"name": "zone", "value": attribute}]),
                )
                .unwrap(),
            ),
            registered_at: 0,
            last_poll_at: Some(100),
        }
    }

    fn run(
        instances: &[ContainerInstance],
        demand: &Demand,
        count: usize,
        constraints: &[Constraint],
        strategies: &[Strategy],
    ) -> Placement {
        place(instances, &HashMap::new(), demand, count, "family:web", constraints, strategies, 100, 7)
    }

    fn id(arn: &str) -> &str {
        arn.rsplit('/').next().unwrap()
    }

    #[test]
    fn a_runtime_platform_places_tasks_only_on_instances_of_that_platform() {
        let on = |id: &str, architecture: &str| {
            let mut found = instance(id, 1024, 1000, "z1");
            let attributes = json!([{"name": "ecs.os-type", "value": "linux"},
                                    {"name": "ecs.cpu-architecture", "value": architecture}]);
            let resources = json!([{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                                   {"name": "MEMORY", "type": "INTEGER", "integerValue": 1000}]);
            found.spec = std::sync::Arc::new(Spec::from_json(&resources, &attributes).unwrap());
            found
        };
        let instances = [on("x", "x86_64"), on("a", "arm64")];
        let demand = Demand::default();
        let placed = |platform: Json| {
            let constraints = definition_constraints(&json!({"runtimePlatform": platform})).unwrap();
            let placement =
                run(&instances, &demand, 2, &constraints, &[Strategy::Spread { field: "instanceId".into() }]);
            placement.placed.iter().map(|arn| id(arn).to_owned()).collect::<Vec<_>>()
        };
        assert_eq!(placed(json!({"cpuArchitecture": "ARM64"})), ["a", "a"]);
        assert_eq!(placed(json!({"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"})), ["x", "x"]);
        assert_eq!(placed(json!({"operatingSystemFamily": "LINUX"})).len(), 2, "either architecture");
        assert!(placed(json!({"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"})).is_empty(), "no Windows instance");
        assert!(definition_constraints(&json!({})).unwrap().is_empty(), "no platform, no constraint");
    }

    #[test]
    fn spread_alternates_and_binpack_fills_one_first() {
        let instances = [instance("a", 1024, 1000, "z1"), instance("b", 1024, 1000, "z2")];
        let demand = Demand { cpu: 0, memory: 100, ports: vec![] };
        let spread = run(&instances, &demand, 4, &[], &[Strategy::Spread { field: "instanceId".into() }]);
        let ids: Vec<&str> = spread.placed.iter().map(|a| id(a)).collect();
        assert_eq!(ids, ["a", "b", "a", "b"]);
        let binpack = run(&instances, &demand, 3, &[], &[Strategy::Binpack { field: "memory".into() }]);
        let ids: Vec<&str> = binpack.placed.iter().map(|a| id(a)).collect();
        assert_eq!(ids, ["a", "a", "a"]);
    }

    #[test]
    fn where_strategies_rank_each_instance_alone_the_instances_that_cannot_take_a_task_change_nothing() {
        let mut disconnected = instance("d", 8192, 8000, "z1");
        disconnected.last_poll_at = Some(0);
        let mut draining = instance("e", 8192, 8000, "z1");
        draining.status = ContainerInstanceStatus::Draining;
        let (a, b, c) =
            (instance("a", 1024, 1000, "z1"), instance("b", 2048, 600, "z2"), instance("c", 512, 900, "z1"));
        let all = [a.clone(), b.clone(), c.clone(), disconnected, draining];
        let candidates = [a, b, c];
        let demand = Demand { cpu: 128, memory: 100, ports: vec![] };
        let strategies = [
            vec![Strategy::Spread { field: "instanceId".into() }],
            vec![Strategy::Binpack { field: "cpu".into() }],
            vec![Strategy::Binpack { field: "memory".into() }, Strategy::Spread { field: "host".into() }],
        ];
        for strategy in &strategies {
            assert!(ranks_each_instance_alone(strategy));
            for count in [1, 3, 10] {
                assert_eq!(run(&candidates, &demand, count, &[], strategy), run(&all, &demand, count, &[], strategy));
            }
        }
        assert!(!ranks_each_instance_alone(&[Strategy::Random]));
        assert!(!ranks_each_instance_alone(&[Strategy::Spread { field: "attribute:zone".into() }]));
    }

    #[test]
    fn resources_ports_constraints_and_agents_refuse_with_ecs_reasons() {
        let mut disconnected = instance("c", 4096, 4000, "z1");
        disconnected.last_poll_at = Some(0);
        let instances = [instance("a", 1024, 300, "z1"), instance("b", 1024, 300, "z2"), disconnected];
        let demand = Demand { cpu: 512, memory: 200, ports: vec!["80".into()] };
        let placed = run(&instances, &demand, 3, &[], &[]);
        assert_eq!(placed.placed.len(), 2);
        let reasons: Vec<&str> = placed.failures.iter().map(|(_, reason)| reason.as_str()).collect();
        assert!(reasons.contains(&"AGENT") && reasons.contains(&"RESOURCE:MEMORY"), "{reasons:?}");
        let ports = run(&instances, &Demand { ports: vec!["22".into()], ..Demand::default() }, 1, &[], &[]);
        assert!(ports.placed.is_empty());
        assert!(ports.failures.iter().any(|(_, reason)| reason == "RESOURCE:PORTS"));
        let member = constraints(Some(&json!([{"type": "memberOf", "expression": "attribute:zone == z2"}]))).unwrap();
        let placed = run(&instances, &Demand::default(), 2, &member, &[]);
        assert_eq!(placed.placed.iter().map(|a| id(a)).collect::<Vec<_>>(), ["b", "b"]);
        let distinct = run(&instances, &Demand::default(), 3, &[Constraint::DistinctInstance], &[]);
        assert_eq!(distinct.placed.len(), 2, "one per connected instance");
        assert!(run(&[], &Demand::default(), 1, &[], &[]).failures[0].1.contains("No Container Instances"));
    }
}
