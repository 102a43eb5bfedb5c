"""Signs a set of requests with botocore (the aws CLI's signer) and writes them as fixtures.

Regenerate with: python3 crates/aws-protocol/tests/botocore_sign.py > crates/aws-protocol/tests/botocore-signed.json
The Rust test `botocore_interop.rs` verifies every fixture with Homeport's verifier, taking
each request's own X-Amz-Date as the server's clock.
"""
import json
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

PLAIN = Credentials("AKIAHOMEPORTEXAMPLE", "homeport/secret+key/EXAMPLE")
SESSION = Credentials("ASIAHOMEPORTEXAMPLE", "session/secret+key/EXAMPLE", "FwoGZXIvYXdzEXAMPLETOKEN//+=")

CASES = [
    ("iam form POST", PLAIN, "iam", "POST", "http://127.0.0.1:8080/", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
     "Action=GetUser&UserName=bob&Version=2010-05-08", False),
    ("sts GET with a session token", SESSION, "sts", "GET", "http://127.0.0.1:8080/?Action=GetCallerIdentity&Version=2011-06-15", {}, "", False),
    ("ecs awsJson POST", PLAIN, "ecs", "POST", "http://127.0.0.1:8080/",
     {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"}, '{"maxResults": 10}', False),
    ("query with reserved and unicode characters", PLAIN, "iam", "GET",
     "http://127.0.0.1:8080/?Action=ListUsers&PathPrefix=%2Fdivision%20a%2F&Marker=a%2Bb%3Dc%2A&Name=%C3%A9t%C3%A9&Version=2010-05-08", {}, "", False),
    ("path with spaces and dots", PLAIN, "ecr", "GET", "http://127.0.0.1:8080/v2/my%20repo/./manifests/../tags/list", {}, "", False),
    ("presigned sts GetCallerIdentity", SESSION, "sts", "GET", "http://127.0.0.1:8080/?Action=GetCallerIdentity&Version=2011-06-15", {}, "", True),
    ("repeated header and messy whitespace", PLAIN, "logs", "POST", "http://127.0.0.1:8080/",
     {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.DescribeLogGroups", "X-Custom": "  a   b  "}, "{}", False),
]


def sign(name, credentials, service, method, url, headers, body, presign):
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body.encode())
    if presign:
        SigV4QueryAuth(credentials, service, "us-east-1", expires=900).add_auth(request)
    else:
        SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    parts = urlsplit(request.url)
    headers = [[k, v] for k, v in request.headers.items()]
    headers.append(["Host", parts.netloc])
    return {"name": name, "secret": credentials.secret_key, "method": method, "path": parts.path or "/",
            "query": parts.query, "headers": headers, "body": body}


print(json.dumps({"cases": [sign(*case) for case in CASES]}, indent=2))
