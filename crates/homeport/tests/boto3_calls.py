"""Calls a Homeport server through boto3, for the Rust end-to-end tests.

Usage: python3 boto3_calls.py ENDPOINT_URL CALLS_FILE

CALLS_FILE holds one JSON call per line:
    {"operation": "simulate_custom_policy", "params": {...}}
with optional "service" (default "iam"), "credentials": [ACCESS_KEY_ID, SECRET, SESSION_TOKEN or
null] (call as that principal instead of root), "validate": false (turn off botocore's client-side
parameter validation, to send what the SDK would refuse) and "allPages": "EvaluationResults"
(follow Marker and merge that list, as the aws CLI does), and "events": N (an answer that is an
event stream, StartLiveTail's: read its first N events, close it, and answer them as a list,
each checked against the stream's shape). Each call prints one JSON line:
{"response": {...}} without ResponseMetadata, or {"error": {"Code", "Message", "Status"}}.

Every successful response is also checked against the service model botocore ships: each
awsQuery XML element must be a member of its shape (structures by member name, lists as
`member`, maps as `entry`/`key`/`value`, scalars without children), and each awsJson member
must be a member of its shape with the JSON type its shape implies (restJson bodies too). Elements the model does not know,
which botocore would silently drop, come back as "shapeProblems" next to the response.

Host prefix injection is off: botocore would send StartLiveTail (endpoint `hostPrefix`
`stream-`) to `stream-127.0.0.1`, which resolves nowhere; with `inject_host_prefix=False` it
goes to the endpoint as given, as it must for any endpoint URL that is an address.

Credentials come from the usual places (the test points AWS_SHARED_CREDENTIALS_FILE at the
server's root-credentials file); the region is us-east-1. Retries are off, so every call is
exactly one request.
"""

import json
import sys
import xml.etree.ElementTree as ElementTree

import boto3
from botocore.config import Config
from botocore.eventstream import EventStream
from botocore.exceptions import ClientError


def local(tag):
    return tag.rsplit("}", 1)[-1]


def check_shape(element, shape, path, problems):
    """Appends to problems every child of element that shape does not describe."""
    children = list(element)
    kind = shape.type_name
    if kind == "structure":
        members = {member.serialization.get("name", name): member for name, member in shape.members.items()}
        for child in children:
            tag = local(child.tag)
            if tag in members:
                check_shape(child, members[tag], f"{path}/{tag}", problems)
            else:
                problems.append(f"{path}/{tag} is not a member of {shape.name}")
    elif kind == "list":
        item = shape.member.serialization.get("name", "member")
        for child in children:
            if local(child.tag) == item:
                check_shape(child, shape.member, f"{path}/{item}", problems)
            else:
                problems.append(f"{path}/{local(child.tag)} should be {item}")
    elif kind == "map":
        for entry in children:
            if local(entry.tag) != "entry":
                problems.append(f"{path}/{local(entry.tag)} should be entry")
                continue
            for part in entry:
                name = local(part.tag)
                if name == "key":
                    check_shape(part, shape.key, f"{path}/entry/key", problems)
                elif name == "value":
                    check_shape(part, shape.value, f"{path}/entry/value", problems)
                else:
                    problems.append(f"{path}/entry/{name} is neither key nor value")
    elif children:
        problems.append(f"{path} is a {kind} but has elements {[local(c.tag) for c in children]}")


def check_json(value, shape, path, problems):
    """Appends to problems every member of value that shape does not describe."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path} should be an object")
            return
        for name, member in value.items():
            if name in shape.members:
                check_json(member, shape.members[name], f"{path}.{name}", problems)
            else:
                problems.append(f"{path}.{name} is not a member of {shape.name}")
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{path} should be a list")
            return
        for index, item in enumerate(value):
            check_json(item, shape.member, f"{path}[{index}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{path} should be an object")
            return
        for key, item in value.items():
            check_json(item, shape.value, f"{path}.{key}", problems)
    elif kind in ("string",) and not isinstance(value, str):
        problems.append(f"{path} should be a string")
    elif kind == "timestamp" and shape.serialization.get("timestampFormat") == "iso8601":
        # A shape may name its format (Access Analyzer's are ISO 8601 strings).
        if not isinstance(value, str):
            problems.append(f"{path} should be an ISO 8601 string")
    elif kind in ("integer", "long", "float", "double", "timestamp") and not isinstance(value, (int, float)):
        problems.append(f"{path} should be a number")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{path} should be a boolean")


def shape_problems(body, operation_model):
    """The problems of a response body against the operation's output shape."""
    if operation_model.output_shape is None:
        return []
    if operation_model.metadata.get("protocol") in ("json", "rest-json"):
        problems = []
        check_json(json.loads(body or b"{}"), operation_model.output_shape, operation_model.name, problems)
        return problems
    if operation_model.metadata.get("protocol") != "query":
        return []
    root = ElementTree.fromstring(body)
    result = next((child for child in root if local(child.tag) == f"{operation_model.name}Result"), None)
    if result is None:
        return [f"no {operation_model.name}Result element"]
    problems = []
    check_shape(result, operation_model.output_shape, operation_model.name, problems)
    return problems


def main():
    endpoint, calls_file = sys.argv[1], sys.argv[2]
    clients = {}

    def client(service, validate, credentials):
        key = (service, validate, tuple(credentials or ()))
        if key not in clients:
            config = Config(
                retries={"total_max_attempts": 1}, parameter_validation=validate, inject_host_prefix=False
            )
            keys = {}
            if credentials:
                keys = {
                    "aws_access_key_id": credentials[0],
                    "aws_secret_access_key": credentials[1],
                    "aws_session_token": credentials[2] if len(credentials) > 2 else None,
                }
            made = boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=config, **keys)
            made.meta.events.register("after-call", remember_response)
            clients[key] = made
        return clients[key]

    last = {}

    def remember_response(http_response, model, **_):
        # A streamed answer is read by the caller (reading its content here would wait for
        # its end); its events are checked as they are read.
        streamed = model.has_event_stream_output
        ok = http_response.status_code == 200 and not streamed
        last["problems"] = shape_problems(http_response.content, model) if ok else []
        last["model"] = model

    with open(calls_file, encoding="utf-8") as calls:
        for line in calls:
            call = json.loads(line)
            made = client(call.get("service", "iam"), call.get("validate", True), call.get("credentials"))
            method = getattr(made, call["operation"])
            params = call.get("params", {})
            try:
                response = method(**params)
                merged = call.get("allPages")
                while merged and response.get("IsTruncated"):
                    page = method(**params, Marker=response["Marker"])
                    response[merged].extend(page[merged])
                    response["IsTruncated"] = page.get("IsTruncated", False)
                    response["Marker"] = page.get("Marker")
                if merged:
                    response.pop("Marker", None)
                for name, value in list(response.items()):
                    if isinstance(value, EventStream):
                        shape = last["model"].output_shape.members[name]
                        events, problems = [], []
                        for event in value:
                            check_json(event, shape, name, problems)
                            events.append(event)
                            if len(events) >= call.get("events", 1):
                                break
                        value.close()
                        response[name] = events
                        last["problems"] = problems
                response.pop("ResponseMetadata", None)
                answer = {"response": response}
                if last.get("problems"):
                    answer["shapeProblems"] = last["problems"]
            except ClientError as error:
                answer = {
                    "error": {
                        "Code": error.response["Error"]["Code"],
                        "Message": error.response["Error"]["Message"],
                        "Status": error.response["ResponseMetadata"]["HTTPStatusCode"],
                    }
                }
            print(json.dumps(answer, default=str), flush=True)


if __name__ == "__main__":
    main()
