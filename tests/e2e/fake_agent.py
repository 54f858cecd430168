"""A fake wharf-agent for e2e tests of wharfd's side of the agent protocol
(docs/agent-protocol.md): it registers a container instance, long-polls PollDesiredTasks with
botocore-signed raw requests and submits state changes, without running any container.

Also: check_shape(), which checks a JSON response against botocore's ECS output shape (types,
enums, no members the model does not know), beyond what botocore's parser checks."""
import json
import threading
import time

import botocore.session

ECS_TARGET = "AmazonEC2ContainerServiceV20141113"
AGENT_TARGET = "WharfAgent_20261129"

_model = None
_model_lock = threading.Lock()


def ecs_model():
    global _model
    with _model_lock:
        if _model is None:
            _model = botocore.session.get_session().get_service_model("ecs")
    return _model


class AgentError(Exception):
    def __init__(self, resp):
        super().__init__(f"{resp.status} {resp.body[:300]!r}")
        self.resp = resp
        self.status = resp.status
        self.error_type = resp.error_type
        self.message = resp.message


class FakeAgent:
    """One fake agent of one container instance. `wharfd` is a conftest.Wharfd."""

    def __init__(self, wharfd, cluster, region="us-east-1", cpu=1024, memory=2048,
                 ports=("22", "2376"), ports_udp=(), attributes=(), fargate=False,
                 instance_id=None, az=None):
        self.d = wharfd
        self.cluster = cluster
        self.region = region
        self.cpu, self.memory = cpu, memory
        self.ports, self.ports_udp = list(ports), list(ports_udp)
        self.attributes = [dict(a) for a in attributes]
        self.attributes.append({"name": "ecs.availability-zone", "value": az or f"{region}a"})
        self.attributes.append({"name": "ecs.os-type", "value": "linux"})
        if fargate:
            self.attributes.append({"name": "wharf.capacity", "value": "FARGATE"})
        self.instance_id = instance_id
        self.arn = None
        self.known = None

    # ---- raw calls -----------------------------------------------------------------------
    def call(self, target, body, timeout=40):
        req = self.d.build(body=body, target=target)
        from conftest import sign_request  # the harness's signer, at "now"
        sign_request(req, self.d.credentials(), self.region, "ecs")
        resp = self.d.send(req, timeout=timeout)
        if resp.status != 200:
            raise AgentError(resp)
        return resp.json()

    def ecs(self, action, body):
        return self.call(f"{ECS_TARGET}.{action}", body)

    # ---- protocol ------------------------------------------------------------------------
    def register(self, reuse_arn=False, **extra):
        resources = [
            {"name": "CPU", "type": "INTEGER", "integerValue": self.cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": self.memory},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": self.ports},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": self.ports_udp},
        ]
        body = {"cluster": self.cluster, "totalResources": resources,
                "versionInfo": {"agentVersion": "0.1.0-fake", "agentHash": "fake"},
                "attributes": self.attributes}
        if self.instance_id:
            body["instanceIdentityDocument"] = json.dumps({"instanceId": self.instance_id})
        if reuse_arn and self.arn:
            body["containerInstanceArn"] = self.arn
        body.update(extra)
        ci = self.ecs("RegisterContainerInstance", body)["containerInstance"]
        self.arn = ci["containerInstanceArn"]
        return ci

    def poll(self, known=None, wait=0, timeout=40):
        """One PollDesiredTasks; remembers the version it answered with."""
        body = {"cluster": self.cluster, "containerInstanceArn": self.arn, "waitSeconds": wait}
        if known is not None:
            body["knownVersion"] = known
        out = self.call(f"{AGENT_TARGET}.PollDesiredTasks", body, timeout=timeout)
        self.known = out["version"]
        return out

    def poll_in_thread(self, known, wait=20):
        """Start a poll in a thread; returns (thread, result dict filled with 'out'/'error'
        and 'at', the monotonic time the answer arrived)."""
        res = {}

        def run():
            try:
                res["out"] = self.poll(known=known, wait=wait)
            except Exception as e:  # noqa: BLE001 - reported to the test
                res["error"] = e
            res["at"] = time.monotonic()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, res

    def submit_task(self, task_arn, status, containers=(), **extra):
        body = {"cluster": self.cluster, "task": task_arn, "status": status,
                "containers": list(containers)}
        body.update(extra)
        return self.ecs("SubmitTaskStateChange", body)

    def submit_container(self, task_arn, name, **fields):
        body = {"cluster": self.cluster, "task": task_arn, "containerName": name}
        body.update(fields)
        return self.ecs("SubmitContainerStateChange", body)

    # ---- conveniences --------------------------------------------------------------------
    def desired(self):
        """The tasks desired now (a poll that does not wait)."""
        return self.poll(wait=0)["tasks"]

    def run_all(self, digest="sha256:" + "ab" * 32):
        """Take every desired RUNNING task through PENDING to RUNNING, as an agent would."""
        started = []
        for t in self.desired():
            if t["desiredStatus"] != "RUNNING" or t["lastStatus"] == "RUNNING":
                continue
            now = time.time()
            self.submit_task(t["taskArn"], "PENDING", pullStartedAt=now)
            ctrs = [{"containerName": c["name"], "status": "RUNNING",
                     "runtimeId": f"rt-{c['name']}", "imageDigest": digest}
                    for c in t["containers"]]
            self.submit_task(t["taskArn"], "RUNNING", ctrs, pullStoppedAt=now)
            started.append(t["taskArn"])
        return started

    def stop_all(self, exit_code=0):
        """Report STOPPED for every desired STOPPED task, as an agent would."""
        stopped = []
        for t in self.desired():
            if t["desiredStatus"] != "STOPPED":
                continue
            ctrs = [{"containerName": c["name"], "status": "STOPPED", "exitCode": exit_code}
                    for c in t["containers"]]
            self.submit_task(t["taskArn"], "STOPPED", ctrs, executionStoppedAt=time.time())
            stopped.append(t["taskArn"])
        return stopped


# ---- response shape check ------------------------------------------------------------------

def check_shape(value, shape, path="$"):
    """Assert that value (parsed JSON) fits botocore shape: a list of problems, empty when it
    fits."""
    problems = []
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {shape.name}, got {type(value).__name__}"]
        for k, v in value.items():
            if k not in shape.members:
                problems.append(f"{path}.{k}: not a member of {shape.name}")
                continue
            problems += check_shape(v, shape.members[k], f"{path}.{k}")
    elif t == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        for i, v in enumerate(value):
            problems += check_shape(v, shape.member, f"{path}[{i}]")
    elif t == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        for k, v in value.items():
            problems += check_shape(v, shape.value, f"{path}[{k!r}]")
    elif t == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {value!r}"]
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer, got {value!r}")
    elif t in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{path}: expected a number, got {value!r}")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean, got {value!r}")
    elif t == "timestamp":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{path}: expected epoch seconds, got {value!r}")
    return problems


def check_output(operation, body):
    """Problems of body against operation's output shape, plus botocore's own parse."""
    model = ecs_model()
    op = model.operation_model(operation)
    problems = check_shape(body, op.output_shape)
    from botocore.parsers import create_parser
    parser = create_parser("json")
    parsed = parser.parse({"status_code": 200, "headers": {},
                           "body": json.dumps(body).encode()}, op.output_shape)
    if "Error" in parsed:
        problems.append(f"botocore parsed an error: {parsed['Error']}")
    return problems, parsed
