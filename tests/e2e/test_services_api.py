"""Services and the service controller (issue 6) without containers: a wharfd of this module
with no local capacity, fake agents (fake_agent.py) that run in threads here and act as
wharf-agent would (long-poll, report PENDING then RUNNING, report STOPPED for what is desired
STOPPED), and can be told to "kill" a task, to fail every task of a family at once, or to hold
new tasks PENDING. Driven with boto3 and the AWS CLI v2.

Run: WHARFD=build/wharfd /usr/bin/python3 -m pytest tests/e2e/test_services_api.py"""
import threading
import time

import pytest

from conftest import _make, expect_error, uniq, wait_for
from fake_agent import AgentError, FakeAgent, check_output

IMAGE = "busybox:latest"


class AutoAgent(FakeAgent):
    """A fake agent with a loop: it runs what is desired RUNNING (PENDING, then RUNNING after
    `delay` seconds), stops what is desired STOPPED, and fails at once the tasks of the
    families in `failing` (an essential container exits 1)."""

    def __init__(self, wharfd, cluster, delay=0.0, **kw):
        super().__init__(wharfd, cluster, **kw)
        self.delay = delay
        self.failing = set()
        self.hold = False  # leave new tasks PENDING
        self.health = {}  # family -> healthStatus reported for its containers
        self.seen = {}  # task ARN -> first time seen desired RUNNING
        self.stop_evt = threading.Event()
        self.thread = None
        self.errors = []

    def start(self):
        if not self.arn:
            self.register()
        self.stop_evt.clear()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_evt.set()
        if self.thread:
            self.thread.join(10)

    def _loop(self):
        known = None
        while not self.stop_evt.is_set():
            try:
                out = self.poll(known=known, wait=1, timeout=10)
                known = out["version"]
                self._act(out["tasks"])
            except (AgentError, OSError) as e:  # wharfd restarting: try again
                self.errors.append(e)
                known = None
                time.sleep(0.2)

    def _act(self, tasks):
        now = time.monotonic()
        for t in tasks:
            arn, family = t["taskArn"], t["taskDefinition"]["family"]
            if t["desiredStatus"] == "STOPPED":
                if t["lastStatus"] != "STOPPED":
                    self.report_stopped(t, 0)
            elif family in self.failing:
                self.report_stopped(t, 1)
            elif t["lastStatus"] in ("PROVISIONING",) and not self.hold:
                self.submit_task(arn, "PENDING", pullStartedAt=time.time())
                self.seen.setdefault(arn, now)
            elif t["lastStatus"] == "PENDING" and not self.hold and \
                    now - self.seen.setdefault(arn, now) >= self.delay:
                ctrs = [{"containerName": c["name"], "status": "RUNNING",
                         "runtimeId": f"rt-{c['name']}"} for c in t["containers"]]
                health = self.health.get(family)
                if health:
                    for c in ctrs:
                        c["healthStatus"] = health
                self.submit_task(arn, "RUNNING", ctrs, pullStoppedAt=time.time())
        # tasks waiting for their delay: look again soon even if nothing changes
        if any(t["desiredStatus"] == "RUNNING" and t["lastStatus"] == "PENDING" for t in tasks):
            time.sleep(0.05)

    def report_stopped(self, t, code):
        ctrs = [{"containerName": c["name"], "status": "STOPPED", "exitCode": code}
                for c in t["containers"]]
        self.submit_task(t["taskArn"], "STOPPED", ctrs, executionStoppedAt=time.time())

    def kill(self, task_arn):
        """The task's container dies by itself (as if killed)."""
        t = next(t for t in self.desired() if t["taskArn"] == task_arn)
        self.report_stopped(t, 137)


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    w = _make(tmp_path_factory.mktemp("services"), "services", ["--no-local-capacity"])
    w.start()
    yield w
    if w.running:
        w.stop()


@pytest.fixture
def ecs(d):
    return d.client()


@pytest.fixture
def farm(d, ecs):
    """A cluster with two running fake agents (zones a and b); more with farm.add()."""
    made = []

    class Farm:
        cluster = uniq("svc")

        def add(self, az="us-east-1a", **kw):
            a = AutoAgent(d, self.cluster, az=az, cpu=4096, memory=8192, **kw).start()
            made.append(a)
            return a

    f = Farm()
    ecs.create_cluster(clusterName=f.cluster)
    f.agents = [f.add("us-east-1a"), f.add("us-east-1b")]
    yield f
    for a in made:
        a.stop()


def register(ecs, family=None, **ckw):
    family = family or uniq("web")
    c = {"name": "app", "image": IMAGE, "cpu": 128, "memory": 128}
    c.update(ckw)
    return ecs.register_task_definition(family=family, containerDefinitions=[c])[
        "taskDefinition"]


def describe(ecs, cluster, name):
    return ecs.describe_services(cluster=cluster, services=[name])["services"][0]


def service_tasks(ecs, cluster, name, desired="RUNNING"):
    arns = ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus=desired)["taskArns"]
    if not arns:
        return []
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]


def stable(ecs, cluster, name):
    s = describe(ecs, cluster, name)
    if len(s["deployments"]) == 1 and s["runningCount"] == s["desiredCount"] and \
            s["pendingCount"] == 0 and s["deployments"][0]["rolloutState"] == "COMPLETED":
        return s
    return None


def wait_stable(ecs, cluster, name, timeout=30):
    return wait_for(lambda: stable(ecs, cluster, name), timeout=timeout, interval=0.1,
                    what=f"service {name} stable")


# ---- create, describe, list, delete ------------------------------------------------------

def test_create_service_of_four(d, ecs, farm):
    td = register(ecs)
    out = ecs.create_service(cluster=farm.cluster, serviceName="web", taskDefinition=td["family"],
                             desiredCount=4, tags=[{"key": "team", "value": "a"}])["service"]
    assert out["status"] == "ACTIVE" and out["desiredCount"] == 4
    assert out["serviceArn"] == \
        f"arn:aws:ecs:us-east-1:{d.account}:service/{farm.cluster}/web"
    assert out["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert out["deploymentConfiguration"]["maximumPercent"] == 200
    assert out["taskSets"] == [] and out["schedulingStrategy"] == "REPLICA"
    s = wait_stable(ecs, farm.cluster, "web")
    tasks = service_tasks(ecs, farm.cluster, "web")
    assert len(tasks) == 4
    dep = s["deployments"][0]
    for t in tasks:
        assert t["startedBy"] == dep["id"] and dep["id"].startswith("ecs-svc/")
        assert t["group"] == "service:web" and t["lastStatus"] == "RUNNING"
    # spread over the zones and instances: two on each
    per = {}
    for t in tasks:
        per[t["containerInstanceArn"]] = per.get(t["containerInstanceArn"], 0) + 1
    assert sorted(per.values()) == [2, 2]
    msgs = [e["message"] for e in s["events"]]
    assert msgs[0] == "(service web) has reached a steady state."
    started = [m for m in msgs if m.startswith("(service web) has started 4 tasks: (task ")]
    assert started and all(t["taskArn"].rsplit("/", 1)[1] in started[0] for t in tasks)
    assert dep["rolloutStateReason"] == f"ECS deployment {dep['id']} completed."
    # the whole shape, raw, with tags
    raw = d.call("DescribeServices", {"cluster": farm.cluster, "services": ["web", "nope"],
                                      "include": ["TAGS"]}).json()
    problems, _ = check_output("DescribeServices", raw)
    assert problems == []
    assert raw["services"][0]["tags"] == [{"key": "team", "value": "a"}]
    assert raw["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{d.account}:service/"
                                       f"{farm.cluster}/nope", "reason": "MISSING"}]
    # the cluster counts it; it cannot be deleted under the service
    cl = ecs.describe_clusters(clusters=[farm.cluster], include=["STATISTICS"])["clusters"][0]
    assert cl["activeServicesCount"] == 1
    stats = {x["name"]: x["value"] for x in cl["statistics"]}
    assert stats["activeEC2ServiceCount"] == "1" and stats["drainingEC2ServiceCount"] == "0"


def test_cluster_with_services_is_not_deleted(ecs):
    c = uniq("lone")
    ecs.create_cluster(clusterName=c)
    td = register(ecs)
    ecs.create_service(cluster=c, serviceName="s", taskDefinition=td["family"], desiredCount=0)
    expect_error("ClusterContainsServicesException", ecs.delete_cluster, cluster=c)
    ecs.delete_service(cluster=c, service="s")
    wait_for(lambda: describe(ecs, c, "s")["status"] == "INACTIVE", timeout=20,
             what="the service INACTIVE")
    assert ecs.describe_clusters(clusters=[c])["clusters"][0]["activeServicesCount"] == 0
    assert ecs.delete_cluster(cluster=c)["cluster"]["status"] == "INACTIVE"


def test_service_errors_and_listing(d, ecs, farm):
    td = register(ecs)
    c = farm.cluster
    expect_error("InvalidParameterException", ecs.create_service, cluster=c,
                 serviceName="bad name", taskDefinition=td["family"], desiredCount=1)
    expect_error("ClientException", ecs.create_service, cluster=c, serviceName="x",
                 taskDefinition=uniq("nofam"), desiredCount=1)
    expect_error("InvalidParameterException", ecs.create_service, cluster=c, serviceName="x",
                 taskDefinition=td["family"], desiredCount=1,
                 deploymentConfiguration={"maximumPercent": 50})
    expect_error("InvalidParameterException", ecs.create_service, cluster=c, serviceName="x",
                 taskDefinition=td["family"], desiredCount=1,
                 placementConstraints=[{"type": "memberOf", "expression": "attribute:a =="}])
    expect_error("ClusterNotFoundException", ecs.create_service, cluster=uniq("nocl"),
                 serviceName="x", taskDefinition=td["family"], desiredCount=1)
    names = sorted(uniq("s") for _ in range(3))
    for n in names:
        ecs.create_service(cluster=c, serviceName=n, taskDefinition=td["family"], desiredCount=0,
                           clientToken=n)
    again = ecs.create_service(cluster=c, serviceName=names[0], taskDefinition=td["family"],
                               desiredCount=0, clientToken=names[0])["service"]
    assert again["serviceName"] == names[0]  # the same request: idempotent
    msg = expect_error("InvalidParameterException", ecs.create_service, cluster=c,
                       serviceName=names[0], taskDefinition=td["family"], desiredCount=0)
    assert "not idempotent" in msg
    page = ecs.list_services(cluster=c, maxResults=2)
    rest = ecs.list_services(cluster=c, nextToken=page["nextToken"])
    listed = page["serviceArns"] + rest["serviceArns"]
    assert [a.rsplit("/", 1)[1] for a in listed] == names
    assert ecs.list_services(cluster=c, launchType="FARGATE")["serviceArns"] == []
    assert ecs.list_services(cluster=c, schedulingStrategy="DAEMON")["serviceArns"] == []
    assert ecs.list_services_by_namespace(namespace="nothing-here")["serviceArns"] == []
    expect_error("ServiceNotFoundException", ecs.update_service, cluster=c, service="nope",
                 desiredCount=1)
    expect_error("ServiceNotFoundException", ecs.delete_service, cluster=c, service="nope")
    # delete: scaled above 0 refuses without force; DRAINING, then INACTIVE
    ecs.update_service(cluster=c, service=names[1], desiredCount=1)
    expect_error("InvalidParameterException", ecs.delete_service, cluster=c, service=names[1])
    out = ecs.delete_service(cluster=c, service=names[1], force=True)["service"]
    assert out["status"] == "DRAINING" and out["desiredCount"] == 0
    wait_for(lambda: describe(ecs, c, names[1])["status"] == "INACTIVE", timeout=20,
             what="the deleted service INACTIVE")
    assert service_tasks(ecs, c, names[1]) == []
    expect_error("ServiceNotActiveException", ecs.update_service, cluster=c, service=names[1],
                 desiredCount=1)
    # the name can be taken again
    ecs.create_service(cluster=c, serviceName=names[1], taskDefinition=td["family"],
                       desiredCount=0)
    for n in names:
        ecs.delete_service(cluster=c, service=n, force=True)


# ---- the controller ---------------------------------------------------------------------

def test_killed_task_is_replaced(ecs, farm):
    td = register(ecs)
    ecs.create_service(cluster=farm.cluster, serviceName="k", taskDefinition=td["family"],
                       desiredCount=4)
    wait_stable(ecs, farm.cluster, "k")
    victim = service_tasks(ecs, farm.cluster, "k")[0]
    agent = next(a for a in farm.agents if a.arn == victim["containerInstanceArn"])
    agent.kill(victim["taskArn"])
    dead = ecs.describe_tasks(cluster=farm.cluster, tasks=[victim["taskArn"]])["tasks"][0]
    assert dead["lastStatus"] == "STOPPED" and dead["stopCode"] == "EssentialContainerExited"

    def replaced():
        ts = service_tasks(ecs, farm.cluster, "k")
        return len(ts) == 4 and all(t["lastStatus"] == "RUNNING" for t in ts) and \
            victim["taskArn"] not in [t["taskArn"] for t in ts]
    wait_for(replaced, timeout=20, interval=0.1, what="a replacement task")
    s = wait_stable(ecs, farm.cluster, "k")
    assert s["deployments"][0]["failedTasks"] == 1


def healthy_running(ecs, cluster, name):
    return [t for t in service_tasks(ecs, cluster, name) if t["lastStatus"] == "RUNNING"]


def test_rolling_update_min50_max200(ecs, farm):
    for a in farm.agents:
        a.delay = 0.4  # new tasks take a while to run: the rollout has steps to watch
    td1 = register(ecs)
    c = farm.cluster
    ecs.create_service(cluster=c, serviceName="roll", taskDefinition=td1["taskDefinitionArn"],
                       desiredCount=4, deploymentConfiguration={
                           "minimumHealthyPercent": 50, "maximumPercent": 200})
    wait_stable(ecs, c, "roll")
    td2 = register(ecs, td1["family"])
    ecs.update_service(cluster=c, service="roll", taskDefinition=td2["taskDefinitionArn"])
    lowest, most, deployments = 99, 0, set()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        s = describe(ecs, c, "roll")
        deployments |= {x["id"] for x in s["deployments"]}
        running = healthy_running(ecs, c, "roll")
        alive = service_tasks(ecs, c, "roll")
        lowest = min(lowest, len(running))
        most = max(most, len(alive))
        if stable(ecs, c, "roll") and s["taskDefinition"] == td2["taskDefinitionArn"]:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the rollout did not finish")
    assert lowest >= 2, f"only {lowest} tasks running at some point (min 50% of 4)"
    assert most <= 8, f"{most} tasks alive at some point (max 200% of 4)"
    assert len(deployments) == 2
    tasks = service_tasks(ecs, c, "roll")
    assert len(tasks) == 4 and {t["taskDefinitionArn"] for t in tasks} == \
        {td2["taskDefinitionArn"]}
    old = ecs.list_tasks(cluster=c, serviceName="roll", desiredStatus="STOPPED")["taskArns"]
    stopped = ecs.describe_tasks(cluster=c, tasks=old)["tasks"]
    assert all(t["stopCode"] == "ServiceSchedulerInitiated" for t in stopped)
    assert any("has stopped" in e["message"] for e in describe(ecs, c, "roll")["events"])


def test_circuit_breaker_rolls_back(ecs, farm):
    c = farm.cluster
    td1 = register(ecs)
    ecs.create_service(cluster=c, serviceName="cb", taskDefinition=td1["taskDefinitionArn"],
                       desiredCount=4, deploymentConfiguration={
                           "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    wait_stable(ecs, c, "cb")
    first = describe(ecs, c, "cb")["deployments"][0]["id"]
    bad = register(ecs, uniq("crash"))
    for a in farm.agents:
        a.failing.add(bad["family"])  # its container exits at once
    ecs.update_service(cluster=c, service="cb", taskDefinition=bad["taskDefinitionArn"])

    def rolled_back():
        s = describe(ecs, c, "cb")
        p = s["deployments"][0]
        return s if s["taskDefinition"] == td1["taskDefinitionArn"] and \
            p["rolloutStateReason"].startswith("ECS deployment circuit breaker: rolling back") \
            else None
    s = wait_for(rolled_back, timeout=30, interval=0.1, what="the circuit breaker's rollback")
    assert f"rolling back to deploymentId {first}." in s["deployments"][0]["rolloutStateReason"]
    s = wait_stable(ecs, c, "cb")
    msgs = [e["message"] for e in s["events"]]
    assert any(m.endswith("deployment failed: tasks failed to start.") for m in msgs)
    assert f"(service cb) rolling back to deployment {first}." in msgs
    tasks = service_tasks(ecs, c, "cb")
    assert {t["taskDefinitionArn"] for t in tasks} == {td1["taskDefinitionArn"]}
    assert len(tasks) == 4


def test_daemon_follows_instances(ecs, farm):
    c = farm.cluster
    td = register(ecs)
    out = ecs.create_service(cluster=c, serviceName="dmn", taskDefinition=td["family"],
                             schedulingStrategy="DAEMON")["service"]
    assert out["deploymentConfiguration"]["maximumPercent"] == 100
    assert out["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    s = wait_stable(ecs, c, "dmn")
    assert s["desiredCount"] == 2
    on = sorted(t["containerInstanceArn"] for t in service_tasks(ecs, c, "dmn"))
    assert on == sorted(a.arn for a in farm.agents)
    third = farm.add("us-east-1c")
    s = wait_for(lambda: (lambda s: s if s["desiredCount"] == 3 and s["runningCount"] == 3
                          else None)(describe(ecs, c, "dmn")), timeout=20, interval=0.1,
                 what="a daemon task on the third instance")
    on = sorted(t["containerInstanceArn"] for t in service_tasks(ecs, c, "dmn"))
    assert on == sorted(a.arn for a in farm.agents + [third])
    expect_error("InvalidParameterException", ecs.update_service, cluster=c, service="dmn",
                 desiredCount=5)
    # an instance that leaves takes its daemon task with it
    ecs.update_container_instances_state(cluster=c, containerInstances=[third.arn],
                                         status="DRAINING")
    wait_for(lambda: describe(ecs, c, "dmn")["desiredCount"] == 2 and
             len(service_tasks(ecs, c, "dmn")) == 2, timeout=20, interval=0.1,
             what="the daemon task off the drained instance")
    ecs.delete_service(cluster=c, service="dmn")
    wait_for(lambda: describe(ecs, c, "dmn")["status"] == "INACTIVE", timeout=20,
             what="the daemon service INACTIVE")


def test_draining_moves_tasks(ecs, farm):
    c = farm.cluster
    td = register(ecs)
    ecs.create_service(cluster=c, serviceName="dr", taskDefinition=td["family"], desiredCount=4)
    wait_stable(ecs, c, "dr")
    a, b = farm.agents
    ecs.update_container_instances_state(cluster=c, containerInstances=[a.arn],
                                         status="DRAINING")
    lowest = 99
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        running = healthy_running(ecs, c, "dr")
        lowest = min(lowest, len(running))
        if len(running) == 4 and all(t["containerInstanceArn"] == b.arn for t in running) and \
                stable(ecs, c, "dr"):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the tasks did not move off the draining instance")
    assert lowest >= 4  # minimumHealthyPercent 100: replacements first, then stops
    ci = ecs.describe_container_instances(cluster=c, containerInstances=[a.arn])
    assert ci["containerInstances"][0]["runningTasksCount"] == 0
    ecs.update_container_instances_state(cluster=c, containerInstances=[a.arn], status="ACTIVE")


def test_unplaceable_event(ecs, farm):
    c = farm.cluster
    td = register(ecs, memory=100000)
    ecs.create_service(cluster=c, serviceName="big", taskDefinition=td["family"], desiredCount=1)

    def event():
        for e in describe(ecs, c, "big")["events"]:
            if "was unable to place a task" in e["message"]:
                return e["message"]
        return None
    msg = wait_for(event, timeout=20, interval=0.1, what="the unable-to-place event")
    assert msg.startswith("(service big) was unable to place a task because no container "
                          "instance met all of its requirements. The closest matching "
                          "(container-instance ")
    assert "has insufficient memory available." in msg
    ecs.delete_service(cluster=c, service="big", force=True)


def test_health_checks_gate_the_rollout(ecs, farm):
    c = farm.cluster
    hc = {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2, "retries": 1}
    td = register(ecs, healthCheck=hc)
    ecs.create_service(cluster=c, serviceName="hc", taskDefinition=td["family"], desiredCount=2)
    time.sleep(1.5)
    s = describe(ecs, c, "hc")
    assert s["runningCount"] == 2 and s["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    for a in farm.agents:
        a.health[td["family"]] = "HEALTHY"
    for t in service_tasks(ecs, c, "hc"):
        agent = next(a for a in farm.agents if a.arn == t["containerInstanceArn"])
        agent.submit_container(t["taskArn"], "app", status="RUNNING", healthStatus="HEALTHY")
    wait_stable(ecs, c, "hc")
    # a task that turns UNHEALTHY is replaced (no grace period)
    victim = service_tasks(ecs, c, "hc")[0]
    agent = next(a for a in farm.agents if a.arn == victim["containerInstanceArn"])
    agent.submit_container(victim["taskArn"], "app", status="RUNNING", healthStatus="UNHEALTHY")
    wait_for(lambda: victim["taskArn"] not in [t["taskArn"] for t in service_tasks(ecs, c, "hc")],
             timeout=20, interval=0.1, what="the unhealthy task replaced")
    msgs = [e["message"] for e in describe(ecs, c, "hc")["events"]]
    assert f"(service hc) (task {victim['taskArn'].rsplit('/', 1)[1]}) failed container " \
           "health checks." in msgs
    ecs.delete_service(cluster=c, service="hc", force=True)


def test_wait_services_stable_cli(d, ecs, farm):
    c = farm.cluster
    td = register(ecs)
    d.cli("ecs", "create-service", "--cluster", c, "--service-name", "cli",
          "--task-definition", td["family"], "--desired-count", "2")
    started = time.monotonic()
    d.cli("ecs", "wait", "services-stable", "--cluster", c, "--services", "cli")
    assert time.monotonic() - started < 40
    s = describe(ecs, c, "cli")
    assert len(s["deployments"]) == 1 and s["runningCount"] == 2
    td2 = register(ecs, td["family"])
    d.cli("ecs", "update-service", "--cluster", c, "--service", "cli",
          "--task-definition", td2["taskDefinitionArn"])
    d.cli("ecs", "wait", "services-stable", "--cluster", c, "--services", "cli")
    s = describe(ecs, c, "cli")
    assert len(s["deployments"]) == 1 and s["runningCount"] == 2
    assert s["taskDefinition"] == td2["taskDefinitionArn"]


def test_force_new_deployment_and_namespace(ecs, farm):
    c = farm.cluster
    td = register(ecs)
    ns = uniq("ns")
    ecs.create_service(cluster=c, serviceName="fnd", taskDefinition=td["family"], desiredCount=2,
                       serviceConnectConfiguration={"enabled": True, "namespace": ns},
                       role="ecsServiceRole")
    s = wait_stable(ecs, c, "fnd")
    assert s["roleArn"].endswith(":role/ecsServiceRole")
    first = s["deployments"][0]["id"]
    before = {t["taskArn"] for t in service_tasks(ecs, c, "fnd")}
    out = ecs.update_service(cluster=c, service="fnd", forceNewDeployment=True)["service"]
    assert [d["status"] for d in out["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert out["deployments"][1]["id"] == first
    s = wait_stable(ecs, c, "fnd")
    after = {t["taskArn"] for t in service_tasks(ecs, c, "fnd")}
    assert len(after) == 2 and not after & before  # every task replaced, same definition
    assert s["taskDefinition"] == td["taskDefinitionArn"]
    listed = ecs.list_services_by_namespace(namespace=ns)["serviceArns"]
    assert listed == [s["serviceArn"]]
    # desiredCount alone changes the service in place: no new deployment
    out = ecs.update_service(cluster=c, service="fnd", desiredCount=3)["service"]
    assert len(out["deployments"]) == 1 and out["deployments"][0]["desiredCount"] == 3
    wait_for(lambda: describe(ecs, c, "fnd")["runningCount"] == 3, timeout=20, interval=0.1,
             what="the third task")
    ecs.delete_service(cluster=c, service="fnd", force=True)


def test_grace_period(ecs, farm):
    c = farm.cluster
    hc = {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2, "retries": 1}
    td = register(ecs, healthCheck=hc)
    for a in farm.agents:
        a.health[td["family"]] = "HEALTHY"
    ecs.create_service(cluster=c, serviceName="grace", taskDefinition=td["family"],
                       desiredCount=1, healthCheckGracePeriodSeconds=600)
    s = wait_stable(ecs, c, "grace")
    assert s["healthCheckGracePeriodSeconds"] == 600
    t = service_tasks(ecs, c, "grace")[0]
    agent = next(a for a in farm.agents if a.arn == t["containerInstanceArn"])
    agent.submit_container(t["taskArn"], "app", status="RUNNING", healthStatus="UNHEALTHY")
    time.sleep(1.5)  # within the grace period: left alone
    assert [x["taskArn"] for x in service_tasks(ecs, c, "grace")] == [t["taskArn"]]
    ecs.update_service(cluster=c, service="grace", healthCheckGracePeriodSeconds=0)
    wait_for(lambda: t["taskArn"] not in [x["taskArn"] for x in service_tasks(ecs, c, "grace")],
             timeout=20, interval=0.1, what="the unhealthy task replaced after the grace period")
    ecs.delete_service(cluster=c, service="grace", force=True)


def test_fargate_service(d, ecs, farm):
    c = farm.cluster
    fg = AutoAgent(d, "wharf-fargate", fargate=True, cpu=4096, memory=8192).start()
    try:
        fam = uniq("fg")
        ecs.register_task_definition(family=fam, networkMode="awsvpc",
                                     requiresCompatibilities=["FARGATE"], cpu="256",
                                     memory="512",
                                     containerDefinitions=[{"name": "app", "image": IMAGE}])
        expect_error("InvalidParameterException", ecs.create_service, cluster=c,
                     serviceName="fg", taskDefinition=fam, desiredCount=2, launchType="FARGATE")
        net = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "DISABLED"}}
        out = ecs.create_service(cluster=c, serviceName="fg", taskDefinition=fam, desiredCount=2,
                                 launchType="FARGATE", networkConfiguration=net)["service"]
        assert out["launchType"] == "FARGATE" and out["platformVersion"] == "LATEST"
        assert out["networkConfiguration"] == net
        s = wait_stable(ecs, c, "fg")
        tasks = service_tasks(ecs, c, "fg")
        assert len(tasks) == 2
        for t in tasks:
            assert t["launchType"] == "FARGATE" and "containerInstanceArn" not in t
        assert ecs.list_services(cluster=c, launchType="FARGATE")["serviceArns"] == \
            [s["serviceArn"]]
        cl = ecs.describe_clusters(clusters=[c], include=["STATISTICS"])["clusters"][0]
        stats = {x["name"]: x["value"] for x in cl["statistics"]}
        assert stats["activeFargateServiceCount"] == "1"
        # the cluster's capacity providers: FARGATE_SPOT through a strategy
        ecs.put_cluster_capacity_providers(cluster=c, capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                           defaultCapacityProviderStrategy=[])
        out = ecs.create_service(cluster=c, serviceName="spot", taskDefinition=fam,
                                 desiredCount=1, networkConfiguration=net,
                                 capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT",
                                                            "weight": 1}])["service"]
        assert out["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE_SPOT"
        assert "launchType" not in out
        wait_stable(ecs, c, "spot")
        t = service_tasks(ecs, c, "spot")[0]
        assert t["capacityProviderName"] == "FARGATE_SPOT" and t["launchType"] == "FARGATE"
        for n in ("fg", "spot"):
            ecs.delete_service(cluster=c, service=n, force=True)
            wait_for(lambda: describe(ecs, c, n)["status"] == "INACTIVE", timeout=20,
                     what=f"{n} INACTIVE")
    finally:
        fg.stop()


# ---- a restart in the middle of a deployment ----------------------------------------------

def test_restart_mid_deployment(make_wharfd):
    w = make_wharfd(extra_args=["--no-local-capacity"])
    ecs = w.client()
    c = uniq("rst")
    ecs.create_cluster(clusterName=c)
    agents = [AutoAgent(w, c, az=f"us-east-1{z}", cpu=4096, memory=8192).start() for z in "ab"]
    try:
        td1 = register(ecs)
        ecs.create_service(cluster=c, serviceName="r", taskDefinition=td1["taskDefinitionArn"],
                           desiredCount=4)
        wait_stable(ecs, c, "r")
        for a in agents:
            a.hold = True  # the new revision's tasks stay PENDING: the rollout is under way
        td2 = register(ecs, td1["family"])
        ecs.update_service(cluster=c, service="r", taskDefinition=td2["taskDefinitionArn"])
        wait_for(lambda: len(service_tasks(ecs, c, "r")) == 8, timeout=20, interval=0.1,
                 what="the new deployment's tasks placed")
        assert len(describe(ecs, c, "r")["deployments"]) == 2
        w.restart()
        ecs = w.client()
        assert len(describe(ecs, c, "r")["deployments"]) == 2  # still mid-way
        for a in agents:
            a.hold = False
        s = wait_stable(ecs, c, "r", timeout=40)
        assert s["taskDefinition"] == td2["taskDefinitionArn"]
        tasks = service_tasks(ecs, c, "r")
        assert len(tasks) == 4 and {t["taskDefinitionArn"] for t in tasks} == \
            {td2["taskDefinitionArn"]}
    finally:
        for a in agents:
            a.stop()
