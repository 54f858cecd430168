"""Pre-sign AWS JSON 1.1 requests with botocore's SigV4Auth, so a load generator can replay them.

A SigV4 header signature stays valid for 15 minutes (the allowed clock skew), and nothing in an
ECS JSON request is single-use, so one signed request can be sent many thousands of times.

The signed request is written as a small text file that bench.lua reads (one per target):

    METHOD PATH
    Header-Name: value        (one line per header, exactly as signed)
    <empty line>
    body                      (rest of the file, verbatim)
"""
import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113"
CONTENT_TYPE = "application/x-amz-json-1.1"


def sign(endpoint, action, payload, access_key, secret_key, region="us-east-1", service="ecs"):
    """Return (headers, body) of a signed POST of `payload` (a dict) to endpoint
    ("http://HOST:PORT") for the ECS action. headers is a list of (name, value)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    req = AWSRequest(
        method="POST",
        url=endpoint.rstrip("/") + "/",
        data=body,
        headers={"X-Amz-Target": f"{TARGET_PREFIX}.{action}", "Content-Type": CONTENT_TYPE},
    )
    SigV4Auth(Credentials(access_key, secret_key), service, region).add_auth(req)
    # botocore signs the Host header from the URL's netloc without adding it to req.headers;
    # the replayed request must carry exactly that value.
    host = endpoint.split("://", 1)[1].rstrip("/")
    headers = [("Host", host)] + [(k, v) for k, v in req.headers.items()]
    return headers, body


def write_request_file(path, headers, body):
    with open(path, "wb") as f:
        f.write(b"POST /\n")
        for k, v in headers:
            if "\n" in k or "\n" in v:
                raise ValueError(f"header {k!r} has a newline")
            f.write(f"{k}: {v}\n".encode())
        f.write(b"\n")
        f.write(body)
