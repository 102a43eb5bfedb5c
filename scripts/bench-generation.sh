#!/usr/bin/env bash
# Policy generation over a large trail (issue 20): PRINCIPALS users (default 100) each send
# REQUESTS signed requests (default 10,000: 1 M in all), mostly iam:GetUser on themselves and
# DISTINCT of them ecs:CreateCluster of a cluster of their own each time (default 100: that
# many distinct resources per principal); then, as root, StartPolicyGeneration for one
# principal (RUNS times, the fastest and the slowest reported) and for every principal in turn,
# each timed from boto3 (the request's whole life: sync of the trail, the read of iam_usage,
# generation, the job's insert). Prints the fill rate, the generation times, the size of
# iam_usage and the audit journal, and the server's peak RSS.
#
#   [PRINCIPALS=100] [REQUESTS=10000] [DISTINCT=100] [RUNS=5] scripts/bench-generation.sh
#                                          (needs python3 with boto3)
set -euo pipefail
cd "$(dirname "$0")/.."
principals=${PRINCIPALS:-100}
requests=${REQUESTS:-10000}
distinct=${DISTINCT:-100}
runs=${RUNS:-5}
source scripts/lib.sh

build
# The quota (50 a day) would stop the run: it times generation, not the quota.
start_server --policy-generations-per-day 1000000
echo "== $principals users, each allowed iam:GetUser and ecs:CreateCluster"
python3 - "$work" "$principals" << 'EOF'
import sys, boto3
work, count = sys.argv[1], int(sys.argv[2])
iam = boto3.client("iam")
policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*","Action":["iam:GetUser","ecs:CreateCluster"]}]}'
for n in range(1, count + 1):
    name = f"u{n}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="bench", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    with open(f"{work}/{name}.credentials", "w") as out:
        out.write(f"[default]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n")
EOF

echo "== $((principals * requests)) requests: $((requests - distinct)) GetUser and $distinct CreateCluster (distinct clusters) per user"
started=$(date +%s%N)
for n in $(seq 1 "$principals"); do
  credentials="$work/u$n.credentials"
  "$bin" loadgen --endpoint "$endpoint" --credentials "$credentials" --concurrency 16 \
    --service iam --form "Action=GetUser&Version=2010-05-08" --count $((requests - distinct)) > /dev/null
  "$bin" loadgen --endpoint "$endpoint" --credentials "$credentials" --concurrency 16 \
    --service ecs --target AmazonEC2ContainerServiceV20141113.CreateCluster \
    --json "{\"clusterName\":\"u$n-c{n}\"}" --count "$distinct" > /dev/null
done
python3 -c 'import sys; s = (int(sys.argv[1]) - int(sys.argv[2])) / 1e9; n = int(sys.argv[3])
print(f"  filled in {s:.1f} s: {n / s:.0f} requests/s (signing included)")' "$(date +%s%N)" "$started" $((principals * requests))

echo "== StartPolicyGeneration (boto3, wall time of the call)"
python3 - "$principals" "$runs" << 'EOF'
import sys, time, json, boto3
count, runs = int(sys.argv[1]), int(sys.argv[2])
account = boto3.client("sts").get_caller_identity()["Account"]
analyzer = boto3.client("accessanalyzer")
def generate(n):
    arn = f"arn:aws:iam::{account}:user/u{n}"
    began = time.perf_counter()
    job = analyzer.start_policy_generation(policyGenerationDetails={"principalArn": arn})["jobId"]
    took = time.perf_counter() - began
    answer = analyzer.get_generated_policy(jobId=job, includeResourcePlaceholders=True)
    assert answer["jobDetails"]["status"] == "SUCCEEDED", answer["jobDetails"]
    statements = sum(len(json.loads(p["policy"])["Statement"]) for p in answer["generatedPolicyResult"]["generatedPolicies"])
    return took, len(answer["generatedPolicyResult"]["generatedPolicies"]), statements
first = [generate(1) for _ in range(runs)]
times = sorted(took for took, _, _ in first)
print(f"  one principal, {runs} runs: fastest {times[0] * 1000:.1f} ms, slowest {times[-1] * 1000:.1f} ms "
      f"({first[0][1]} document(s), {first[0][2]} statements)")
began = time.perf_counter()
for n in range(1, count + 1):
    generate(n)
print(f"  every principal in turn ({count}): {(time.perf_counter() - began):.2f} s, "
      f"{(time.perf_counter() - began) / count * 1000:.1f} ms each (Start and Get)")
EOF
echo "  server peak RSS: $(hwm)"
stop_server
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM iam_usage').fetchone()[0])" "$work/data/homeport.db" 2> /dev/null || echo "?")
echo "  iam_usage rows: $rows; audit journal: $(du -sh "$work/data/audit" | cut -f1)"
