"""Calls a Homeport server through boto3, for the Rust end-to-end tests.

Usage: python3 boto3_calls.py ENDPOINT_URL CALLS_FILE

CALLS_FILE holds one JSON call per line:
    {"operation": "simulate_custom_policy", "params": {...}}
with optional "service" (default "iam"), "validate": false (turn off botocore's client-side
parameter validation, to send what the SDK would refuse) and "allPages": "EvaluationResults"
(follow Marker and merge that list, as the aws CLI does). Each call prints one JSON line:
{"response": {...}} without ResponseMetadata, or {"error": {"Code", "Message", "Status"}}.

Credentials come from the usual places (the test points AWS_SHARED_CREDENTIALS_FILE at the
server's root-credentials file); the region is us-east-1. Retries are off, so every call is
exactly one request.
"""

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main():
    endpoint, calls_file = sys.argv[1], sys.argv[2]
    clients = {}

    def client(service, validate):
        key = (service, validate)
        if key not in clients:
            config = Config(retries={"total_max_attempts": 1}, parameter_validation=validate)
            clients[key] = boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=config)
        return clients[key]

    with open(calls_file, encoding="utf-8") as calls:
        for line in calls:
            call = json.loads(line)
            method = getattr(client(call.get("service", "iam"), call.get("validate", True)), call["operation"])
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
                response.pop("ResponseMetadata", None)
                answer = {"response": response}
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
