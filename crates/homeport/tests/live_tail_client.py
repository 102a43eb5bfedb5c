"""A Live Tail session through boto3, for logs_live_tail_e2e.rs.

Usage: python3 live_tail_client.py ENDPOINT_URL GROUP

Prints one JSON object: the URL botocore's default configuration sends StartLiveTail to (its
endpoint `hostPrefix` put before the endpoint's host), the session's start, the events an
update carried after two PutLogEvents calls made once the session started (and how long they
took to arrive), and the error codes of two refused sessions.
"""

import json
import queue
import sys
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class Unsent(Exception):
    """Raised before a request leaves, once its URL is known."""


def client(inject_host_prefix):
    config = Config(retries={"total_max_attempts": 1}, inject_host_prefix=inject_host_prefix)
    return boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1", config=config)


def default_url(arn):
    """Where botocore's defaults send StartLiveTail (the request is stopped before it leaves)."""
    made = client(True)
    seen = {}

    def stop(request, **_):
        seen["url"] = request.url
        raise Unsent()

    made.meta.events.register("before-send", stop)
    try:
        made.start_live_tail(logGroupIdentifiers=[arn])
    except Unsent:
        pass
    return seen.get("url")


def error_code(call):
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"]
    return None


def main():
    group = sys.argv[2]
    logs = client(False)
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"].removesuffix(":*")
    out = {"default_url": default_url(arn)}
    answer = logs.start_live_tail(
        logGroupIdentifiers=[arn], logStreamNamePrefixes=["app-"], logEventFilterPattern="ERROR"
    )
    stream = answer["responseStream"]
    events = queue.Queue()

    def read():
        try:
            for event in stream:
                events.put((time.monotonic(), event))
        except Exception as error:  # the stream closed under the reader, or broke
            events.put((time.monotonic(), {"closed": type(error).__name__}))
        events.put((time.monotonic(), None))

    threading.Thread(target=read, daemon=True).start()
    out["start"] = events.get(timeout=10)[1]
    now = int(time.time() * 1000)
    sent = time.monotonic()
    logs.put_log_events(
        logGroupName=group,
        logStreamName="app-1",
        logEvents=[{"timestamp": now, "message": "ERROR boom"}, {"timestamp": now, "message": "INFO fine"}],
    )
    logs.put_log_events(
        logGroupName=group, logStreamName="db", logEvents=[{"timestamp": now, "message": "ERROR elsewhere"}]
    )
    out["received"], out["updates_before"] = [], 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        at, event = events.get(timeout=max(0.1, deadline - time.monotonic()))
        if event is None:
            break
        update = event.get("sessionUpdate")
        if update is None:
            out["unexpected"] = event
            break
        if update["sessionResults"]:
            out["received"] = update["sessionResults"]
            out["sampled"] = update["sessionMetadata"]["sampled"]
            out["latency_ms"] = round((at - sent) * 1000)
            break
        out["updates_before"] += 1
    stream.close()
    out["missing_group"] = error_code(lambda: logs.start_live_tail(logGroupIdentifiers=[arn + "-missing"]))
    out["names_and_prefixes"] = error_code(
        lambda: logs.start_live_tail(logGroupIdentifiers=[arn], logStreamNames=["a"], logStreamNamePrefixes=["b"])
    )
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
