"""The AWS JSON 1.1 protocol: dispatch, error shapes, input validation against the model,
request ids, body limits, timestamps. Raw signed requests where a client would refuse to send."""
import json
import socket
import time

import pytest

from conftest import ECS_TARGET, UUID_RE, container, uniq

INVALID = "InvalidParameterException"
MAX_BODY = 4 << 20


def check_error(r, status, type_):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/x-amz-json-1.1"), r.headers
    body = r.json()
    assert set(body) >= {"__type", "message"}, body
    assert r.error_type == type_, r
    assert UUID_RE.match(r.request_id or ""), r.headers
    return body["message"]


def test_success_has_request_id_and_json_type(wharfd):
    r = wharfd.call("ListClusters", {})
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("application/x-amz-json-1.1")
    assert UUID_RE.match(r.request_id or ""), r.headers
    assert isinstance(r.json()["clusterArns"], list)
    # Request ids are per request.
    ids = {wharfd.call("ListClusters", {}).request_id for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("target", [f"{ECS_TARGET}.NoSuchAction", "NoSuchService.ListClusters",
                                    "garbage"])
def test_unknown_operation(wharfd, target):
    msg = check_error(wharfd.call(target=target, body={}), 400, "UnknownOperationException")
    assert msg


def test_missing_target_is_unknown_operation(wharfd):
    check_error(wharfd.call(body={}), 400, "UnknownOperationException")


@pytest.mark.parametrize("raw", [b"{", b"{\"clusterName\": }", b"not json", b"{\"a\":1}{",
                                 b"\xff\xfe{}"])
def test_malformed_json(wharfd, raw):
    check_error(wharfd.call("CreateCluster", raw_body=raw), 400, INVALID)


@pytest.mark.parametrize("raw", [b"[]", b"\"str\"", b"42", b"null"])
def test_body_must_be_an_object(wharfd, raw):
    check_error(wharfd.call("ListClusters", raw_body=raw), 400, INVALID)


def test_empty_body_is_an_empty_object(wharfd):
    r = wharfd.call("ListClusters", raw_body=b"")
    assert r.status == 200, r


@pytest.mark.parametrize("action,body,field", [
    ("CreateCluster", {"clusterName": 5}, "clusterName"),
    ("CreateCluster", {"clusterName": ["a"]}, "clusterName"),
    ("CreateCluster", {"tags": {"key": "a"}}, "tags"),
    ("CreateCluster", {"tags": [{"key": 1, "value": "a"}]}, "key"),
    ("ListClusters", {"maxResults": "10"}, "maxResults"),
    ("ListClusters", {"maxResults": 1.5}, "maxResults"),
    ("DescribeClusters", {"clusters": "one"}, "clusters"),
    ("RegisterTaskDefinition",
     {"family": "f", "containerDefinitions": [{"name": "a", "image": "b", "memory": "lots"}]},
     "memory"),
    ("RegisterTaskDefinition",
     {"family": "f", "containerDefinitions": [{"name": "a", "image": "b", "memory": 64,
                                               "essential": "yes"}]}, "essential"),
    ("ListTaskDefinitions", {"sort": "SIDEWAYS"}, "sort"),
    ("PutAccountSetting", {"name": "containerInsights", "value": 1}, "value"),
])
def test_wrong_member_type_names_the_field(wharfd, action, body, field):
    msg = check_error(wharfd.call(action, body), 400, INVALID)
    assert field in msg, msg


def test_nested_path_in_message(wharfd):
    body = {"family": uniq("f"), "containerDefinitions": [
        container("a"), container("b", essential=False, portMappings=[{"containerPort": "80"}])]}
    msg = check_error(wharfd.call("RegisterTaskDefinition", body), 400, INVALID)
    assert "containerDefinitions[1].portMappings[0].containerPort" in msg, msg


@pytest.mark.parametrize("action,body,field", [
    ("DescribeTaskDefinition", {}, "taskDefinition"),
    ("RegisterTaskDefinition", {"containerDefinitions": [container()]}, "family"),
    ("RegisterTaskDefinition", {"family": "f"}, "containerDefinitions"),
    ("TagResource", {"resourceArn": "arn:aws:ecs:us-east-1:123456789012:cluster/x"}, "tags"),
    ("UntagResource", {"tagKeys": ["a"]}, "resourceArn"),
    ("UpdateClusterSettings", {"cluster": "x"}, "settings"),
    ("PutClusterCapacityProviders", {"cluster": "x", "capacityProviders": []},
     "defaultCapacityProviderStrategy"),
    ("PutAccountSetting", {"name": "containerInsights"}, "value"),
    ("DeregisterTaskDefinition", {}, "taskDefinition"),
])
def test_missing_required_member_names_it(wharfd, action, body, field):
    msg = check_error(wharfd.call(action, body), 400, INVALID)
    assert field in msg, msg


def test_json_null_counts_as_absent(wharfd):
    r = wharfd.call("ListClusters", {"maxResults": None, "nextToken": None})
    assert r.status == 200, r
    msg = check_error(wharfd.call("DescribeTaskDefinition", {"taskDefinition": None}), 400, INVALID)
    assert "taskDefinition" in msg


def test_unknown_members_are_ignored(wharfd, ecs):
    name = uniq("unk")
    r = wharfd.call("CreateCluster", {"clusterName": name, "someFutureMember": {"x": 1}})
    assert r.status == 200, r
    assert r.json()["cluster"]["clusterName"] == name


def test_timestamps_are_epoch_seconds(wharfd):
    body = {"family": uniq("ts"), "containerDefinitions": [container()]}
    before = time.time()
    r = wharfd.call("RegisterTaskDefinition", body)
    assert r.status == 200, r
    td = r.json()["taskDefinition"]
    assert isinstance(td["registeredAt"], (int, float)) and not isinstance(td["registeredAt"], bool)
    assert before - 5 <= td["registeredAt"] <= time.time() + 5
    assert isinstance(td["revision"], int)


def raw_http(port, head, body=b"", timeout=5):
    """Send bytes, return (status, headers dict, body) of the first response."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(head + body)
        data = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head_b, _, rest = data.partition(b"\r\n\r\n")
        lines = head_b.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in
                   (l.split(":", 1) for l in lines[1:] if ":" in l)}
        n = int(headers.get("content-length", "0"))
        while len(rest) < n and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, headers, rest
    finally:
        s.close()


def test_oversized_body_refused_before_it_is_sent(wharfd):
    # Announce 64 MiB, send none of it: the answer must come anyway, without the body.
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{wharfd.port}\r\n"
            f"X-Amz-Target: {ECS_TARGET}.CreateCluster\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\n"
            f"Content-Length: {64 << 20}\r\n\r\n").encode()
    t0 = time.monotonic()
    status, headers, body = raw_http(wharfd.port, head, timeout=5)
    assert status == 413, (status, body)
    assert time.monotonic() - t0 < 3
    assert UUID_RE.match(headers.get("x-amzn-requestid", "")), headers
    assert wharfd.get("/health").status == 200


def test_body_just_over_limit_refused(wharfd):
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{wharfd.port}\r\n"
            f"X-Amz-Target: {ECS_TARGET}.CreateCluster\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\n"
            f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode()
    status, _, _ = raw_http(wharfd.port, head, timeout=5)
    assert status == 413


def test_chunked_oversized_body_refused(wharfd):
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{wharfd.port}\r\n"
            f"X-Amz-Target: {ECS_TARGET}.CreateCluster\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n").encode()
    piece = b" " * (1 << 20)
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    body = chunk * 5 + b"0\r\n\r\n"
    status, _, _ = raw_http(wharfd.port, head, body, timeout=15)
    assert status == 413
    assert wharfd.get("/health").status == 200


def test_large_valid_body_accepted(wharfd):
    # ~200 KB of environment: well under the limit, must go through.
    env = [{"name": f"VAR_{i}", "value": "x" * 180} for i in range(1000)]
    body = {"family": uniq("big"), "containerDefinitions": [container(environment=env)]}
    r = wharfd.call("RegisterTaskDefinition", body)
    assert r.status == 200, r
    assert len(r.json()["taskDefinition"]["containerDefinitions"][0]["environment"]) == 1000


def test_unknown_path_and_method(wharfd):
    assert wharfd.get("/nope").status == 404
    r = wharfd.get("/")  # GET on the API path
    assert r.status in (404, 405), r


def test_describe_failures_shape_raw(wharfd):
    name = uniq("raw")
    r = wharfd.call("DescribeClusters", {"clusters": [name]})
    assert r.status == 200, r
    body = r.json()
    assert body["clusters"] == []
    assert body["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:123456789012:cluster/{name}",
                                 "reason": "MISSING"}]
    json.dumps(body)
