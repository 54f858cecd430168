"""Services with real containers (issue 6): two (then three) wharf-agents of ours on this host
in one EC2 cluster, running the busybox image test_agent.py's `farm` pushes to wharfd's own
registry, with runc under wharf-shim. The same flows as test_services_api.py, with containers
that really start, die and get replaced.

Needs what test_agent.py needs (root, runc, skopeo, busybox-static) and is skipped
with its reason otherwise. Run: WHARFD=build/wharfd /usr/bin/python3 -m pytest
tests/e2e/test_services_real.py"""
import subprocess
import time
from pathlib import Path

import pytest

from conftest import uniq, wait_for
from test_agent import SLEEPER, Agent, _missing, farm, purge_agent_dir  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture
def ec2(farm, tmp_path):  # noqa: F811 (the fixture imported above)
    """A cluster of farm's wharfd with two agents of ours (zones a and b); ec2.add() adds one."""
    d = farm
    made = []

    class Cluster:
        name = uniq("svcreal")

        def add(self, az):
            a = Agent(d, self.name, tmp_path / f"a{len(made)}", az)
            a.start()
            made.append(a)
            wait_for(a.arn, timeout=20, what="the agent's registration")
            return a

    c = Cluster()
    d.ecs.create_cluster(clusterName=c.name)
    c.agents = [c.add("us-east-1a"), c.add("us-east-1b")]
    yield c
    for n in d.ecs.list_services(cluster=c.name)["serviceArns"]:
        d.ecs.delete_service(cluster=c.name, service=n, force=True)
    for n in d.ecs.list_services(cluster=c.name)["serviceArns"]:
        wait_for(lambda: d.ecs.describe_services(cluster=c.name, services=[n])["services"][0][
            "status"] == "INACTIVE", timeout=60, what="the services' tasks stopped")
    for a in made:
        a.stop()
        purge_agent_dir(a.data)


def td(d, command, family=None):
    family = family or uniq("real")
    return d.ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "main", "image": d.image, "memory": 32, "command": ["sh", "-c", command]}])[
        "taskDefinition"]


def describe(d, cluster, name):
    return d.ecs.describe_services(cluster=cluster, services=[name])["services"][0]


def tasks_of(d, cluster, name):
    arns = d.ecs.list_tasks(cluster=cluster, serviceName=name)["taskArns"]
    return d.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def stable(d, cluster, name):
    s = describe(d, cluster, name)
    return s if len(s["deployments"]) == 1 and s["runningCount"] == s["desiredCount"] and \
        s["pendingCount"] == 0 and s["deployments"][0]["rolloutState"] == "COMPLETED" else None


def wait_stable(d, cluster, name, timeout=90):
    return wait_for(lambda: stable(d, cluster, name), timeout=timeout, interval=0.25,
                    what=f"service {name} stable")


def agent_of(ec2, instance_arn):
    return next(a for a in ec2.agents if a.arn() == instance_arn)


def test_service_of_four_replaces_a_killed_container(farm, ec2):  # noqa: F811
    d, c = farm, ec2.name
    t1 = td(d, SLEEPER)
    d.ecs.create_service(cluster=c, serviceName="web", taskDefinition=t1["family"],
                         desiredCount=4)
    wait_stable(d, c, "web")
    tasks = tasks_of(d, c, "web")
    assert sorted(t["containerInstanceArn"] for t in tasks) == \
        sorted([a.arn() for a in ec2.agents] * 2)
    victim = tasks[0]
    rid = victim["containers"][0]["runtimeId"]
    a = agent_of(ec2, victim["containerInstanceArn"])
    subprocess.run(["runc", "--root", str(Path(a.data) / "runc"), "kill", rid, "KILL"],
                   check=True, capture_output=True)

    def replaced():
        ts = tasks_of(d, c, "web")
        return len(ts) == 4 and victim["taskArn"] not in [t["taskArn"] for t in ts] and \
            all(t["lastStatus"] == "RUNNING" for t in ts)
    wait_for(replaced, timeout=60, interval=0.25, what="the killed task replaced")
    dead = d.ecs.describe_tasks(cluster=c, tasks=[victim["taskArn"]])["tasks"][0]
    assert dead["lastStatus"] == "STOPPED" and dead["stopCode"] == "EssentialContainerExited"

    # a new revision, min 50 / max 200: never fewer than 2 running
    d.ecs.update_service(cluster=c, service="web", deploymentConfiguration={
        "minimumHealthyPercent": 50, "maximumPercent": 200})
    t2 = td(d, SLEEPER, t1["family"])
    d.ecs.update_service(cluster=c, service="web", taskDefinition=t2["taskDefinitionArn"])
    lowest = 99
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = [t for t in tasks_of(d, c, "web") if t["lastStatus"] == "RUNNING"]
        lowest = min(lowest, len(running))
        s = stable(d, c, "web")
        if s and s["taskDefinition"] == t2["taskDefinitionArn"]:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the rollout did not finish")
    assert lowest >= 2
    assert {t["taskDefinitionArn"] for t in tasks_of(d, c, "web")} == {t2["taskDefinitionArn"]}


def test_crashing_revision_rolls_back(farm, ec2):  # noqa: F811
    d, c = farm, ec2.name
    good = td(d, SLEEPER)
    d.ecs.create_service(cluster=c, serviceName="cb", taskDefinition=good["taskDefinitionArn"],
                         desiredCount=2, deploymentConfiguration={
                             "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    wait_stable(d, c, "cb")
    bad = td(d, "exit 1", good["family"])  # its container exits at once
    d.ecs.update_service(cluster=c, service="cb", taskDefinition=bad["taskDefinitionArn"])
    wait_for(lambda: describe(d, c, "cb")["deployments"][0]["rolloutStateReason"].startswith(
        "ECS deployment circuit breaker: rolling back"), timeout=120, interval=0.25,
        what="the circuit breaker's rollback")
    s = wait_stable(d, c, "cb")
    assert s["taskDefinition"] == good["taskDefinitionArn"]
    assert any(e["message"].endswith("deployment failed: tasks failed to start.")
               for e in s["events"])


def test_daemon_and_draining(farm, ec2):  # noqa: F811
    d, c = farm, ec2.name
    t = td(d, SLEEPER)
    d.ecs.create_service(cluster=c, serviceName="dmn", taskDefinition=t["family"],
                         schedulingStrategy="DAEMON")
    s = wait_stable(d, c, "dmn")
    assert s["desiredCount"] == 2
    third = ec2.add("us-east-1c")
    wait_for(lambda: (lambda s: s["desiredCount"] == 3 and s["runningCount"] == 3)(
        describe(d, c, "dmn")), timeout=60, interval=0.25, what="a daemon task on the third agent")
    assert third.arn() in [x["containerInstanceArn"] for x in tasks_of(d, c, "dmn")]
    # a replica service moves off a draining instance
    d.ecs.create_service(cluster=c, serviceName="rep", taskDefinition=t["family"],
                         desiredCount=3)
    wait_stable(d, c, "rep")
    a0 = ec2.agents[0]
    d.ecs.update_container_instances_state(cluster=c, containerInstances=[a0.arn()],
                                           status="DRAINING")

    def moved():
        ts = tasks_of(d, c, "rep")
        return len(ts) == 3 and all(x["containerInstanceArn"] != a0.arn() and
                                    x["lastStatus"] == "RUNNING" for x in ts)
    wait_for(moved, timeout=90, interval=0.25, what="the tasks off the draining instance")
    wait_stable(d, c, "rep")
