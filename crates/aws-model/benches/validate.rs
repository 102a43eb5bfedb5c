#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly on bad fixtures")]

//! Validation speed: what the pipeline spends checking a request against its model.
//!
//! - `register_task_definition_10_containers`: an ECS RegisterTaskDefinition body as the CLI
//!   sends one, ten containers with ports, environment, awslogs and a health check (valid:
//!   the whole body is walked). Target: a few microseconds, small beside the request's
//!   signature check and store transaction.
//! - `put_log_events_100`: a PutLogEvents batch of 100 events of 100 characters, as the agent
//!   ships a task's output.
//! - `create_log_group_invalid`: a too-long `logGroupName` (the refusal is built).
//!
//! Run: `cargo bench -p aws-model --bench validate`.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use serde_json::{Value, json};

fn task_definition(count: usize) -> Value {
    let containers: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "name": format!("container-{i}"),
                "image": "public.ecr.aws/nginx/nginx:latest",
                "cpu": 128,
                "memory": 256,
                "essential": i == 0,
                "portMappings": [{"containerPort": 8000 + i, "hostPort": 0, "protocol": "tcp"}],
                "environment": [{"name": "MODE", "value": "production"}, {"name": "INDEX", "value": i.to_string()}],
                "command": ["serve", "--port", (8000 + i).to_string()],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web",
                }},
                "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 30},
            })
        })
        .collect();
    json!({
        "family": "web",
        "taskRoleArn": "arn:aws:iam::123456789012:role/task",
        "executionRoleArn": "arn:aws:iam::123456789012:role/execution",
        "networkMode": "bridge",
        "requiresCompatibilities": ["EXTERNAL"],
        "containerDefinitions": containers,
        "tags": [{"key": "team", "value": "web"}],
    })
}

fn validate(c: &mut Criterion) {
    let input = aws_model::input("ecs", "RegisterTaskDefinition").unwrap();
    let body = task_definition(10);
    assert!(input.validate_json(&body).is_ok());
    c.bench_function("register_task_definition_10_containers", |b| {
        b.iter(|| input.validate_json(black_box(&body)).is_ok())
    });
    let input = aws_model::input("logs", "PutLogEvents").unwrap();
    let events: Vec<Value> =
        (0..100).map(|i| json!({"timestamp": 1_700_000_000_000_i64 + i, "message": "m".repeat(100)})).collect();
    let body = json!({"logGroupName": "/ecs/web", "logStreamName": "web/web/0123456789abcdef", "logEvents": events});
    assert!(input.validate_json(&body).is_ok());
    c.bench_function("put_log_events_100", |b| b.iter(|| input.validate_json(black_box(&body)).is_ok()));
    let input = aws_model::input("logs", "CreateLogGroup").unwrap();
    let body = json!({"logGroupName": "g".repeat(600)});
    assert!(input.validate_json(&body).is_err());
    c.bench_function("create_log_group_invalid", |b| b.iter(|| input.validate_json(black_box(&body)).is_err()));
}

criterion_group!(benches, validate);
criterion_main!(benches);
