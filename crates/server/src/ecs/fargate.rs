//! Task sizes and Fargate's rules for a task definition. Tools register definitions that
//! require `FARGATE` (most examples do), so Homeport stores them, validated as ECS validates
//! them, and lists `FARGATE` in a definition's `compatibilities` when it meets the rules, as
//! ECS does. It never runs one on Fargate: a launch needs `EXTERNAL` among the
//! compatibilities (`tasks::launch_from`), which `awsvpc` definitions lack.
//!
//! Guarantees: a task-level `cpu` or `memory` is stored as ECS stores it, in CPU units and
//! MiB (`1 vCPU` becomes `1024`, `2 GB` becomes `2048`); a value that is neither is refused,
//! never stored for the scheduler to misread.

use serde_json::Value as Json;

/// The memory (MiB) Fargate's Linux platform offers a task of 256 CPU units.
const SMALLEST: [i64; 3] = [512, 1024, 2048];

/// The larger CPU and memory pairs of Fargate's Linux platform: a task's CPU units, and the
/// memory (MiB) it may have with them, from `lowest` to `highest` in steps of `step`.
const SIZES: [(i64, i64, i64, i64); 6] = [
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// A task-level size member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    Cpu,
    Memory,
}

impl Size {
    fn member(self) -> &'static str {
        match self {
            Size::Cpu => "cpu",
            Size::Memory => "memory",
        }
    }

    /// The unit a value may be written in instead of CPU units or MiB: 1 vCPU is 1024
    /// units, 1 GB is 1024 MiB.
    fn unit(self) -> &'static str {
        match self {
            Size::Cpu => "vcpu",
            Size::Memory => "gb",
        }
    }
}

/// A task-level `cpu` or `memory` as ECS stores it (`"1024"`), from an integer string or
/// one in vCPUs / GB (`"1 vCPU"`, `"0.5 vcpu"`, `"2GB"`, `"2 GB"`); `Err` with ECS's message
/// for anything else.
pub(crate) fn normalized(size: Size, value: &str) -> Result<String, String> {
    let refused = || format!("Invalid '{}' setting for task.", size.member());
    let text = value.trim();
    if let Ok(units) = text.parse::<i64>() {
        return if units > 0 { Ok(units.to_string()) } else { Err(refused()) };
    }
    let lower = text.to_ascii_lowercase();
    let number = lower.strip_suffix(size.unit()).map(str::trim_end).ok_or_else(refused)?;
    let amount: f64 = number.parse().map_err(|_| refused())?;
    let units = amount * 1024.0;
    if !((1.0..=1_048_576.0).contains(&units) && units.fract() == 0.0) {
        return Err(refused());
    }
    #[expect(clippy::cast_possible_truncation, reason = "a whole number checked to be within 1..=2^20")]
    Ok((units as i64).to_string())
}

/// The first of Fargate's rules `definition` (a task definition as stored, sizes
/// normalized) breaks, in ECS's words; `None` when Fargate could run it.
pub(crate) fn violation(definition: &Json) -> Option<String> {
    let text = |member: &str| definition.get(member).and_then(Json::as_str).filter(|v| !v.is_empty());
    if text("networkMode") != Some("awsvpc") {
        return Some("Fargate only supports network mode 'awsvpc'.".to_owned());
    }
    let Some(cpu) = text("cpu") else {
        return Some("Fargate requires that 'cpu' be defined at the task level.".to_owned());
    };
    let Some(memory) = text("memory") else {
        return Some("Fargate requires that 'memory' be defined at the task level.".to_owned());
    };
    if !offered(cpu.parse().unwrap_or(0), memory.parse().unwrap_or(0)) {
        return Some(format!(
            "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS \
             documentation for the valid values."
        ));
    }
    if text("pidMode") == Some("host") {
        return Some(
            "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode \
             is 'task'."
                .to_owned(),
        );
    }
    if text("ipcMode").is_some() {
        return Some("Tasks using the Fargate launch type do not support ipcMode.".to_owned());
    }
    let listed = |member: &str| definition.get(member).and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    if !listed("placementConstraints").is_empty() {
        return Some(
            "Task placement constraints are not supported for tasks using the Fargate launch type.".to_owned(),
        );
    }
    for volume in listed("volumes") {
        if volume.pointer("/host/sourcePath").is_some() || volume.get("dockerVolumeConfiguration").is_some() {
            return Some(
                "Tasks using the Fargate launch type support only bind mounts without a host source path.".to_owned(),
            );
        }
    }
    for container in listed("containerDefinitions") {
        if container.get("privileged") == Some(&Json::Bool(true)) {
            return Some("Privileged containers are not supported by tasks using the Fargate launch type.".to_owned());
        }
        let driver = container.pointer("/logConfiguration/logDriver").and_then(Json::as_str);
        if driver == Some("awslogs") && text("executionRoleArn").is_none() {
            return Some(
                "Fargate requires task definition to have execution role ARN to support log driver awslogs.".to_owned(),
            );
        }
    }
    None
}

/// Whether Fargate offers a task of `cpu` units with `memory` MiB.
fn offered(cpu: i64, memory: i64) -> bool {
    if cpu == 256 {
        return SMALLEST.contains(&memory);
    }
    SIZES.iter().any(|&(units, lowest, highest, step)| {
        units == cpu && (lowest..=highest).contains(&memory) && (memory - lowest) % step == 0
    })
}

/// The launch types a stored definition can run on, as ECS lists them in
/// `compatibilities`: EC2 always, EXTERNAL unless its tasks need their own network
/// interface (`awsvpc`), FARGATE when it meets Fargate's rules.
pub(crate) fn compatibilities(definition: &Json) -> Vec<&'static str> {
    let mut launch_types = vec!["EC2"];
    if definition.get("networkMode").and_then(Json::as_str) != Some("awsvpc") {
        launch_types.push("EXTERNAL");
    }
    if violation(definition).is_none() {
        launch_types.push("FARGATE");
    }
    launch_types
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;

    #[test]
    fn sizes_are_stored_in_units_and_mib() {
        for (size, given, stored) in [
            (Size::Cpu, "1024", "1024"),
            (Size::Cpu, "1 vCPU", "1024"),
            (Size::Cpu, "0.25 vcpu", "256"),
            (Size::Cpu, ".5vCPU", "512"),
            (Size::Memory, "512", "512"),
            (Size::Memory, "2 GB", "2048"),
            (Size::Memory, "0.5GB", "512"),
        ] {
            assert_eq!(normalized(size, given).as_deref(), Ok(stored), "{given}");
        }
        for (size, given) in [(Size::Cpu, "1 GB"), (Size::Cpu, "0"), (Size::Memory, "lots"), (Size::Memory, "-1 GB")] {
            assert_eq!(
                normalized(size, given),
                Err(format!("Invalid '{}' setting for task.", size.member())),
                "{given}"
            );
        }
    }

    #[test]
    fn fargate_offers_its_table_of_sizes_and_nothing_else() {
        let offered_pairs = [(256, 512), (256, 2048), (512, 4096), (1024, 3072), (4096, 30720), (16384, 122880)];
        for (cpu, memory) in offered_pairs {
            assert!(offered(cpu, memory), "{cpu}/{memory}");
        }
        for (cpu, memory) in [(256, 4096), (256, 1536), (512, 512), (1000, 2048), (8192, 18432), (4096, 31744)] {
            assert!(!offered(cpu, memory), "{cpu}/{memory}");
        }
    }

    #[test]
    fn compatibilities_follow_the_network_mode_and_fargates_rules() {
        let bridge = json!({"networkMode": "bridge", "containerDefinitions": [{"name": "a"}]});
        assert_eq!(compatibilities(&bridge), ["EC2", "EXTERNAL"]);
        let fargate = json!({"networkMode": "awsvpc", "cpu": "256", "memory": "512",
                             "containerDefinitions": [{"name": "a"}]});
        assert_eq!(compatibilities(&fargate), ["EC2", "FARGATE"]);
        let hosted = json!({"networkMode": "awsvpc", "cpu": "256", "memory": "512", "pidMode": "host",
                            "containerDefinitions": [{"name": "a"}]});
        assert_eq!(compatibilities(&hosted), ["EC2"]);
        assert_eq!(
            violation(&json!({"networkMode": "awsvpc", "cpu": "256"})).unwrap(),
            "Fargate requires that 'memory' be defined at the task level."
        );
    }
}
