"""wharfd's side of issue 4 without containers: container instances, attributes, tasks and the
agent protocol, driven with boto3 / the AWS CLI v2 and a fake agent (fake_agent.py) that
registers, long-polls PollDesiredTasks and reports state changes like wharf-agent would.

The agentConnected threshold is lowered for one test with the environment variable
WHARF_AGENT_TIMEOUT_SECONDS of a function-scoped wharfd (docs/agent-protocol.md)."""
import time
import uuid

import pytest

from conftest import cluster_arn, expect_error, uniq
from fake_agent import AgentError, FakeAgent, check_output

BUSYBOX = "busybox:latest"


def container(name="app", memory=128, cpu=128, **extra):
    c = {"name": name, "image": BUSYBOX, "cpu": cpu, "memory": memory}
    c.update(extra)
    return c


def register_td(ecs, family=None, containers=None, **extra):
    family = family or uniq("fam")
    td = ecs.register_task_definition(family=family,
                                      containerDefinitions=containers or [container()], **extra)
    return td["taskDefinition"]


def fargate_td(ecs, family=None, cpu="256", memory="512"):
    return register_td(ecs, family, [{"name": "app", "image": BUSYBOX}],
                       networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu=cpu,
                       memory=memory)


def new_cluster(ecs, **kw):
    name = uniq("c")
    ecs.create_cluster(clusterName=name, **kw)
    return name


def agents(wharfd, cluster, n=2, region="us-east-1", **kw):
    out = []
    for i in range(n):
        a = FakeAgent(wharfd, cluster, region=region, **kw)
        a.register()
        a.poll()
        out.append(a)
    return out


def placed_on(tasks):
    return sorted(t["containerInstanceArn"] for t in tasks)


def resource(resources, name):
    r = next(r for r in resources if r["name"] == name)
    return r.get("stringSetValue") if r["type"] == "STRINGSET" else r["integerValue"]


# ---- container instances ------------------------------------------------------------------

def test_register_describe_list_instances(wharfd, ecs):
    c = new_cluster(ecs)
    prod = FakeAgent(wharfd, c, cpu=2048, memory=4096, ports=["22"], ports_udp=["161"],
                     attributes=[{"name": "stack", "value": "prod"}], instance_id="i-0abc")
    dev = FakeAgent(wharfd, c, attributes=[{"name": "stack", "value": "dev"}])
    ci = prod.register(tags=[{"key": "team", "value": "ops"}])
    dev.register()
    assert ci["status"] == "ACTIVE" and ci["agentConnected"] is True
    assert ci["ec2InstanceId"] == "i-0abc"
    assert ci["containerInstanceArn"].startswith(
        f"arn:aws:ecs:us-east-1:{wharfd.account}:container-instance/{c}/")
    assert resource(ci["registeredResources"], "CPU") == 2048
    assert resource(ci["registeredResources"], "PORTS_UDP") == ["161"]
    assert ci["versionInfo"]["agentVersion"] == "0.1.0-fake"

    raw = wharfd.call("DescribeContainerInstances",
                      {"cluster": c, "containerInstances": [prod.arn, "nope"],
                       "include": ["TAGS"]}).json()
    problems, _ = check_output("DescribeContainerInstances", raw)
    assert problems == []
    got = raw["containerInstances"][0]
    assert got["tags"] == [{"key": "team", "value": "ops"}]
    assert {"name": "stack", "value": "prod"} in got["attributes"]
    assert got["runningTasksCount"] == 0 and got["pendingTasksCount"] == 0
    assert raw["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{wharfd.account}:"
                                       f"container-instance/{c}/nope", "reason": "MISSING"}]

    listed = ecs.list_container_instances(cluster=c)["containerInstanceArns"]
    assert sorted(listed) == sorted([prod.arn, dev.arn])
    only = ecs.list_container_instances(cluster=c, filter="attribute:stack == prod")
    assert only["containerInstanceArns"] == [prod.arn]
    page = ecs.list_container_instances(cluster=c, maxResults=1)
    rest = ecs.list_container_instances(cluster=c, nextToken=page["nextToken"])
    assert sorted(page["containerInstanceArns"] + rest["containerInstanceArns"]) == sorted(listed)
    assert "nextToken" not in rest
    expect_error("InvalidParameterException", ecs.list_container_instances, cluster=c,
                 filter="attribute:stack ==")
    cl = ecs.describe_clusters(clusters=[c])["clusters"][0]
    assert cl["registeredContainerInstancesCount"] == 2

    # re-registration keeps the ARN
    again = prod.register(reuse_arn=True)
    assert again["containerInstanceArn"] == prod.arn
    assert len(ecs.list_container_instances(cluster=c)["containerInstanceArns"]) == 2


def test_register_errors(wharfd, ecs):
    a = FakeAgent(wharfd, uniq("nocluster"))
    with pytest.raises(AgentError) as ei:
        a.register()
    assert ei.value.error_type == "ClusterNotFoundException"
    c = new_cluster(ecs)
    b = FakeAgent(wharfd, c, memory=0)
    with pytest.raises(AgentError) as ei:
        b.register()
    assert "MEMORY" in ei.value.message
    d = FakeAgent(wharfd, c, attributes=[{"name": "bad name", "value": "x"}])
    with pytest.raises(AgentError) as ei:
        d.register()
    assert ei.value.error_type == "InvalidParameterException"
    assert "attributes[0].name 'bad name'" in ei.value.message


def test_draining_takes_no_tasks(wharfd, ecs):
    c = new_cluster(ecs)
    a, b = agents(wharfd, c)
    td = register_td(ecs)
    out = ecs.update_container_instances_state(cluster=c, containerInstances=[a.arn, "gone"],
                                               status="DRAINING")
    assert [i["status"] for i in out["containerInstances"]] == ["DRAINING"]
    assert out["failures"][0]["reason"] == "MISSING"
    run = ecs.run_task(cluster=c, taskDefinition=td["taskDefinitionArn"], count=4)
    assert placed_on(run["tasks"]) == [b.arn] * 4
    assert ecs.list_container_instances(cluster=c, status="DRAINING")[
        "containerInstanceArns"] == [a.arn]
    expect_error("InvalidParameterException", ecs.update_container_instances_state, cluster=c,
                 containerInstances=[a.arn], status="REGISTERING")


# ---- RunTask placement -------------------------------------------------------------------

def test_run_task_spreads_over_two_instances(wharfd, ecs):
    c = new_cluster(ecs)
    a, b = agents(wharfd, c)
    td = register_td(ecs)
    run = ecs.run_task(cluster=c, taskDefinition=td["family"], count=4,
                       placementStrategy=[{"type": "spread", "field": "instanceId"}])
    assert run["failures"] == []
    assert placed_on(run["tasks"]) == sorted([a.arn] * 2 + [b.arn] * 2)
    t = run["tasks"][0]
    assert t["lastStatus"] == "PROVISIONING" and t["desiredStatus"] == "RUNNING"
    assert t["group"] == f"family:{td['family']}"
    assert t["launchType"] == "EC2"
    assert t["containers"][0]["lastStatus"] == "PENDING"
    # each agent's poll has its two tasks with the full task definition
    for agent in (a, b):
        tasks = agent.desired()
        assert len(tasks) == 2
        assert tasks[0]["taskDefinition"]["taskDefinitionArn"] == td["taskDefinitionArn"]
        assert tasks[0]["taskDefinition"]["containerDefinitions"][0]["image"] == BUSYBOX
    ci = ecs.describe_container_instances(cluster=c, containerInstances=[a.arn])[
        "containerInstances"][0]
    assert ci["pendingTasksCount"] == 2
    assert resource(ci["remainingResources"], "CPU") == 1024 - 2 * 128
    assert resource(ci["remainingResources"], "MEMORY") == 2048 - 2 * 128


def test_run_task_member_of_and_distinct_instance(wharfd, ecs):
    c = new_cluster(ecs)
    prod, dev = (FakeAgent(wharfd, c, attributes=[{"name": "stack", "value": s}])
                 for s in ("prod", "dev"))
    prod.register()
    dev.register()
    td = register_td(ecs)
    run = ecs.run_task(cluster=c, taskDefinition=td["family"], count=3,
                       placementConstraints=[{"type": "memberOf",
                                              "expression": "attribute:stack == prod"}])
    assert placed_on(run["tasks"]) == [prod.arn] * 3
    run = ecs.run_task(cluster=c, taskDefinition=td["family"], count=3, group="g1",
                       placementConstraints=[{"type": "distinctInstance"}])
    assert placed_on(run["tasks"]) == sorted([prod.arn, dev.arn])
    assert {f["reason"] for f in run["failures"]} == {"DistinctInstance"}
    run = ecs.run_task(cluster=c, taskDefinition=td["family"],
                       placementConstraints=[{"type": "memberOf",
                                              "expression": "attribute:stack == qa"}])
    assert run["tasks"] == []
    assert sorted(f["arn"] for f in run["failures"]) == sorted([prod.arn, dev.arn])
    assert {f["reason"] for f in run["failures"]} == {"MemberOf"}
    expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                 taskDefinition=td["family"],
                 placementConstraints=[{"type": "memberOf", "expression": "attribute:x =="}])
    expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                 taskDefinition=td["family"], placementStrategy=[{"type": "binpack",
                                                                  "field": "disk"}])


def test_run_task_resource_failures(wharfd, ecs):
    c = new_cluster(ecs)
    a, b = agents(wharfd, c, cpu=1024, memory=1024)
    big = register_td(ecs, containers=[container(memory=4096)])
    run = ecs.run_task(cluster=c, taskDefinition=big["family"])
    assert run["tasks"] == []
    assert sorted(run["failures"], key=lambda f: f["arn"]) == sorted(
        [{"arn": a.arn, "reason": "RESOURCE:MEMORY"}, {"arn": b.arn, "reason": "RESOURCE:MEMORY"}],
        key=lambda f: f["arn"])
    hungry = register_td(ecs, containers=[container(cpu=4096, memory=64)])
    run = ecs.run_task(cluster=c, taskDefinition=hungry["family"])
    assert {f["reason"] for f in run["failures"]} == {"RESOURCE:CPU"}
    ssh = register_td(ecs, containers=[container(portMappings=[{"containerPort": 22,
                                                                "hostPort": 22}])])
    run = ecs.run_task(cluster=c, taskDefinition=ssh["family"])  # 22 is reserved
    assert {f["reason"] for f in run["failures"]} == {"RESOURCE:PORTS"}
    web = register_td(ecs, containers=[container(portMappings=[{"containerPort": 80,
                                                                "hostPort": 8080}])])
    run = ecs.run_task(cluster=c, taskDefinition=web["family"], count=3)
    assert len(run["tasks"]) == 2  # one per instance: 8080 is then taken on both
    assert {f["reason"] for f in run["failures"]} == {"RESOURCE:PORTS"}
    # overrides count: a container memory override that does not fit
    small = register_td(ecs)
    run = ecs.run_task(cluster=c, taskDefinition=small["family"],
                       overrides={"containerOverrides": [{"name": "app", "memory": 2000}]})
    assert {f["reason"] for f in run["failures"]} == {"RESOURCE:MEMORY"}
    expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                 taskDefinition=small["family"],
                 overrides={"containerOverrides": [{"name": "ghost", "memory": 10}]})


def test_run_task_errors(wharfd, ecs):
    c = new_cluster(ecs)
    td = register_td(ecs)
    msg = expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                       taskDefinition=td["family"])
    assert msg == "No Container Instances were found in your cluster."
    agents(wharfd, c, n=1)
    expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                 taskDefinition=td["family"], count=11)
    expect_error("ClientException", ecs.run_task, cluster=c, taskDefinition=uniq("nofam"))
    expect_error("ClusterNotFoundException", ecs.run_task, cluster=uniq("none"),
                 taskDefinition=td["family"])
    ecs.deregister_task_definition(taskDefinition=td["taskDefinitionArn"])
    expect_error("ClientException", ecs.run_task, cluster=c,
                 taskDefinition=td["taskDefinitionArn"])
    ec2_only = register_td(ecs)
    msg = expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                       taskDefinition=ec2_only["family"], launchType="FARGATE")
    assert msg == "Task definition does not support launch_type FARGATE."


def test_start_task(wharfd, ecs):
    c = new_cluster(ecs)
    a, b = agents(wharfd, c)
    td = register_td(ecs)
    out = ecs.start_task(cluster=c, taskDefinition=td["family"],
                         containerInstances=[b.arn, "missing-id"], startedBy="me")
    assert placed_on(out["tasks"]) == [b.arn]
    assert out["tasks"][0]["startedBy"] == "me"
    assert out["failures"][0]["reason"] == "MISSING"
    assert len(b.desired()) == 1 and a.desired() == []


# ---- the agent's long poll ------------------------------------------------------------------

def test_poll_parks_and_stop_task_wakes_it(wharfd, ecs):
    c = new_cluster(ecs)
    (a,) = agents(wharfd, c, n=1)
    td = register_td(ecs)
    task = ecs.run_task(cluster=c, taskDefinition=td["family"])["tasks"][0]
    first = a.poll(known=a.known, wait=0)
    assert [t["taskArn"] for t in first["tasks"]] == [task["taskArn"]]
    a.run_all()
    # an up-to-date poll parks...
    t0 = time.monotonic()
    th, res = a.poll_in_thread(known=a.known, wait=1)
    th.join(5)
    assert res["out"]["version"] == first["version"]
    assert time.monotonic() - t0 >= 0.9, "a poll with the current version must wait"
    # ...until StopTask moves the instance's version
    th, res = a.poll_in_thread(known=a.known, wait=20)
    time.sleep(0.5)
    assert th.is_alive()
    t_stop = time.monotonic()
    stopped = ecs.stop_task(cluster=c, task=task["taskArn"], reason="because")["task"]
    th.join(5)
    assert not th.is_alive()
    assert res["at"] - t_stop < 0.1, f"woken after {res['at'] - t_stop:.3f}s"
    assert stopped["desiredStatus"] == "STOPPED" and stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "because" and "stoppingAt" in stopped
    (t,) = res["out"]["tasks"]
    assert t["desiredStatus"] == "STOPPED" and res["out"]["version"] > first["version"]
    # the agent stops it; then the task is no longer desired at all
    a.stop_all()
    assert a.desired() == []
    got = ecs.describe_tasks(cluster=c, tasks=[task["taskArn"]])["tasks"][0]
    assert got["lastStatus"] == "STOPPED" and got["stopCode"] == "UserInitiated"
    assert "stoppedAt" in got and "executionStoppedAt" in got


def test_poll_errors(wharfd, ecs):
    c = new_cluster(ecs)
    (a,) = agents(wharfd, c, n=1)
    with pytest.raises(AgentError) as ei:
        a.call("WharfAgent_20261129.PollDesiredTasks",
               {"containerInstanceArn": a.arn + "x", "waitSeconds": 0})
    assert ei.value.status == 400 and "not registered" in ei.value.message
    with pytest.raises(AgentError) as ei:
        a.call("WharfAgent_20261129.PollDesiredTasks",
               {"containerInstanceArn": a.arn, "waitSeconds": 31})
    assert ei.value.error_type == "InvalidParameterException"
    with pytest.raises(AgentError) as ei:
        a.call("WharfAgent_20261129.PollDesiredTasks", {"waitSeconds": 0})
    assert "containerInstanceArn" in ei.value.message


def test_agent_disconnected_after_polls_stop(make_wharfd, monkeypatch):
    monkeypatch.setenv("WHARF_AGENT_TIMEOUT_SECONDS", "2")
    d = make_wharfd()
    ecs = d.client()
    c = new_cluster(ecs)
    (a,) = agents(d, c, n=1)
    td = register_td(ecs)
    ci = ecs.describe_container_instances(cluster=c, containerInstances=[a.arn])[
        "containerInstances"][0]
    assert ci["agentConnected"] is True
    time.sleep(2.3)
    ci = ecs.describe_container_instances(cluster=c, containerInstances=[a.arn])[
        "containerInstances"][0]
    assert ci["agentConnected"] is False
    run = ecs.run_task(cluster=c, taskDefinition=td["family"])
    assert run["tasks"] == [] and run["failures"] == [{"arn": a.arn, "reason": "AGENT"}]
    filtered = ecs.list_container_instances(cluster=c, filter="agentConnected == false")
    assert filtered["containerInstanceArns"] == [a.arn]
    a.poll()
    assert ecs.describe_container_instances(cluster=c, containerInstances=[a.arn])[
        "containerInstances"][0]["agentConnected"] is True
    task = ecs.run_task(cluster=c, taskDefinition=td["family"])["tasks"][0]
    # the agent goes away before picking the task up: StopTask stops it at once
    time.sleep(2.3)
    stopped = ecs.stop_task(cluster=c, task=task["taskArn"])["task"]
    assert stopped["lastStatus"] == "STOPPED" and stopped["stoppedReason"] == "Task stopped by user"


# ---- task state ---------------------------------------------------------------------------

def test_describe_tasks_shape_and_lifecycle(wharfd, ecs):
    c = new_cluster(ecs)
    (a,) = agents(wharfd, c, n=1, az="us-east-1c")
    td = register_td(ecs, containers=[
        container("web", portMappings=[{"containerPort": 80, "hostPort": 8080}],
                  healthCheck={"command": ["CMD", "true"]}),
        {"name": "side", "image": BUSYBOX, "essential": False, "memoryReservation": 64}])
    task = ecs.run_task(cluster=c, taskDefinition=td["family"], startedBy="unit",
                        tags=[{"key": "k", "value": "v"}],
                        overrides={"containerOverrides": [{"name": "web",
                                                           "command": ["sleep", "1"]}]})["tasks"][0]
    arn = task["taskArn"]
    assert task["overrides"]["containerOverrides"][0]["command"] == ["sleep", "1"]
    now = time.time()
    a.submit_task(arn, "PENDING", pullStartedAt=now)
    a.submit_task(arn, "RUNNING", [
        {"containerName": "web", "status": "RUNNING", "runtimeId": "rt-web",
         "imageDigest": "sha256:" + "0" * 64,
         "networkBindings": [{"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 8080,
                              "protocol": "tcp"}]},
        {"containerName": "side", "status": "RUNNING", "runtimeId": "rt-side"}],
        pullStoppedAt=now + 1)
    # an old PENDING report arriving late moves nothing back
    a.submit_task(arn, "PENDING")
    a.submit_container(arn, "web", healthStatus="HEALTHY")
    raw = wharfd.call("DescribeTasks", {"cluster": c, "tasks": [arn, "0" * 32],
                                        "include": ["TAGS"]}).json()
    problems, parsed = check_output("DescribeTasks", raw)
    assert problems == []
    t = raw["tasks"][0]
    assert t["lastStatus"] == "RUNNING" and t["healthStatus"] == "HEALTHY"
    assert t["connectivity"] == "CONNECTED"
    for k in ("createdAt", "startedAt", "pullStartedAt", "pullStoppedAt", "connectivityAt"):
        assert isinstance(t[k], (int, float)), k
    assert t["availabilityZone"] == "us-east-1c"
    assert t["containerInstanceArn"] == a.arn
    assert t["tags"] == [{"key": "k", "value": "v"}]
    assert t["startedBy"] == "unit" and t["version"] >= 4
    web = next(x for x in t["containers"] if x["name"] == "web")
    assert web["runtimeId"] == "rt-web" and web["healthStatus"] == "HEALTHY"
    assert web["networkBindings"][0]["hostPort"] == 8080
    assert web["cpu"] == "128" and web["memory"] == "128"
    side = next(x for x in t["containers"] if x["name"] == "side")
    assert side["memoryReservation"] == "64"
    assert raw["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{wharfd.account}:task/{c}/"
                                       + "0" * 32, "reason": "MISSING"}]
    assert parsed["tasks"][0]["taskArn"] == arn  # botocore's parser took it
    ci = ecs.describe_container_instances(cluster=c, containerInstances=[a.arn])[
        "containerInstances"][0]
    assert ci["runningTasksCount"] == 1
    assert "8080" in resource(ci["remainingResources"], "PORTS")
    cl = ecs.describe_clusters(clusters=[c], include=["STATISTICS"])["clusters"][0]
    assert cl["runningTasksCount"] == 1

    # the essential container exits: the task stops with EssentialContainerExited
    a.submit_container(arn, "web", status="STOPPED", exitCode=137,
                       reason="OutOfMemoryError: Container killed due to memory usage")
    a.submit_task(arn, "STOPPED", [{"containerName": "web", "status": "STOPPED",
                                    "exitCode": 137}],
                  stopCode="EssentialContainerExited", executionStoppedAt=time.time())
    t = ecs.describe_tasks(cluster=c, tasks=[arn])["tasks"][0]
    assert t["lastStatus"] == "STOPPED" and t["desiredStatus"] == "STOPPED"
    assert t["stopCode"] == "EssentialContainerExited"
    assert t["stoppedReason"] == "Essential container in task exited"
    web = next(x for x in t["containers"] if x["name"] == "web")
    assert web["exitCode"] == 137
    assert web["reason"] == "OutOfMemoryError: Container killed due to memory usage"
    assert all(x["lastStatus"] == "STOPPED" for x in t["containers"])
    ci = ecs.describe_container_instances(cluster=c, containerInstances=[a.arn])[
        "containerInstances"][0]
    assert resource(ci["remainingResources"], "MEMORY") == 2048  # released
    assert "8080" not in resource(ci["remainingResources"], "PORTS")
    # re-sent reports change nothing
    before = t["version"]
    a.submit_task(arn, "RUNNING")
    assert ecs.describe_tasks(cluster=c, tasks=[arn])["tasks"][0]["version"] == before


def test_pull_failure_stops_task(wharfd, ecs):
    c = new_cluster(ecs)
    (a,) = agents(wharfd, c, n=1)
    td = register_td(ecs)
    arn = ecs.run_task(cluster=c, taskDefinition=td["family"])["tasks"][0]["taskArn"]
    reason = "CannotPullContainerError: pull image manifest: not found"
    a.submit_task(arn, "STOPPED", [{"containerName": "app", "status": "STOPPED",
                                    "reason": reason}])
    t = ecs.describe_tasks(cluster=c, tasks=[arn])["tasks"][0]
    assert t["stopCode"] == "TaskFailedToStart" and t["stoppedReason"] == reason
    assert t["containers"][0]["reason"] == reason
    with pytest.raises(AgentError) as ei:
        a.submit_task(arn, "RUNNING", [{"containerName": "nope", "status": "RUNNING"}])
    assert "nope" in ei.value.message
    with pytest.raises(AgentError):
        a.submit_task(c + "/" + uuid.uuid4().hex, "RUNNING")


def test_list_tasks_filters(wharfd, ecs):
    c = new_cluster(ecs)
    a, b = agents(wharfd, c)
    td1, td2 = register_td(ecs), register_td(ecs)
    t1 = ecs.start_task(cluster=c, taskDefinition=td1["family"], containerInstances=[a.arn],
                        startedBy="alice")["tasks"][0]["taskArn"]
    t2 = ecs.start_task(cluster=c, taskDefinition=td2["family"], containerInstances=[b.arn],
                        startedBy="bob")["tasks"][0]["taskArn"]
    t3 = ecs.start_task(cluster=c, taskDefinition=td2["family"], containerInstances=[b.arn],
                        startedBy="bob")["tasks"][0]["taskArn"]

    def lt(**kw):
        return sorted(ecs.list_tasks(cluster=c, **kw)["taskArns"])

    assert lt() == sorted([t1, t2, t3])
    assert lt(startedBy="bob") == sorted([t2, t3])
    assert lt(family=td1["family"]) == [t1]
    assert lt(containerInstance=b.arn) == sorted([t2, t3])
    assert lt(containerInstance=a.arn.rsplit("/", 1)[1]) == [t1]
    assert lt(launchType="FARGATE") == []
    assert lt(serviceName="svc") == []
    assert lt(desiredStatus="PENDING") == []
    ecs.stop_task(cluster=c, task=t3)
    assert lt(desiredStatus="STOPPED") == [t3]
    assert lt() == sorted([t1, t2])
    p1 = ecs.list_tasks(cluster=c, maxResults=1)
    p2 = ecs.list_tasks(cluster=c, maxResults=1, nextToken=p1["nextToken"])
    assert sorted(p1["taskArns"] + p2["taskArns"]) == sorted([t1, t2]) and "nextToken" not in p2
    expect_error("ClusterNotFoundException", ecs.list_tasks, cluster=uniq("none"))


def test_deregister_and_delete_cluster(wharfd, ecs):
    c = new_cluster(ecs)
    (a,) = agents(wharfd, c, n=1)
    td = register_td(ecs)
    arn = ecs.run_task(cluster=c, taskDefinition=td["family"])["tasks"][0]["taskArn"]
    a.run_all()
    expect_error("ClusterContainsContainerInstancesException", ecs.delete_cluster, cluster=c)
    msg = expect_error("InvalidParameterException", ecs.deregister_container_instance,
                       cluster=c, containerInstance=a.arn)
    assert msg == "Found running tasks on the instance."
    out = ecs.deregister_container_instance(cluster=c, containerInstance=a.arn, force=True)
    assert out["containerInstance"]["status"] == "INACTIVE"
    assert ecs.list_container_instances(cluster=c)["containerInstanceArns"] == []
    # the agent (still polling) is told to stop the task; until it does the task counts
    (t,) = a.desired()
    assert t["desiredStatus"] == "STOPPED"
    expect_error("ClusterContainsTasksException", ecs.delete_cluster, cluster=c)
    a.stop_all()
    assert ecs.describe_tasks(cluster=c, tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED"
    assert ecs.delete_cluster(cluster=c)["cluster"]["status"] == "INACTIVE"


# ---- Fargate capacity -----------------------------------------------------------------------

def test_fargate_tasks_land_on_wharf_capacity(wharfd):
    region = "wh-fargate-" + uuid.uuid4().hex[:6]  # a region of its own: its capacity only
    ecs = wharfd.client("ecs", region)
    c = new_cluster(ecs)
    td = fargate_td(ecs)
    run = ecs.run_task(cluster=c, taskDefinition=td["family"], launchType="FARGATE")
    assert run["tasks"] == [] and run["failures"] == [
        {"arn": cluster_arn(c, region, wharfd.account), "reason": "RESOURCE:FARGATE"}]
    (f,) = agents(wharfd, "wharf-fargate", n=1, region=region, fargate=True, cpu=4096,
                  memory=8192)
    ec2 = FakeAgent(wharfd, c, region=region)
    ec2.register()
    run = ecs.run_task(cluster=c, taskDefinition=td["family"], launchType="FARGATE", count=2,
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    assert len(run["tasks"]) == 2 and run["failures"] == []
    t = run["tasks"][0]
    assert "containerInstanceArn" not in t
    assert t["launchType"] == "FARGATE" and t["platformVersion"] == "1.4.0"
    assert t["cpu"] == "256" and t["memory"] == "512"
    assert t["attachments"][0]["type"] == "ElasticNetworkInterface"
    assert {"name": "subnetId", "value": "subnet-1"} in t["attachments"][0]["details"]
    desired = f.desired()
    assert sorted(x["taskArn"] for x in desired) == sorted(x["taskArn"] for x in run["tasks"])
    assert desired[0]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-1"]
    assert ec2.desired() == []
    f.run_all()
    # Fargate capacity is nobody's instance
    assert ecs.list_container_instances(cluster=c)["containerInstanceArns"] == [ec2.arn]
    cl = ecs.describe_clusters(clusters=[c], include=["STATISTICS"])["clusters"][0]
    assert cl["registeredContainerInstancesCount"] == 1
    stats = {s["name"]: s["value"] for s in cl["statistics"]}
    assert stats["runningFargateTasksCount"] == "2" and stats["runningEC2TasksCount"] == "0"
    assert sorted(ecs.list_tasks(cluster=c, launchType="FARGATE")["taskArns"]) == sorted(
        x["taskArn"] for x in run["tasks"])
    # EC2 tasks never land on Fargate capacity
    ec2_td = register_td(ecs)
    ecs.update_container_instances_state(cluster=c, containerInstances=[ec2.arn],
                                         status="DRAINING")
    run = ecs.run_task(cluster=c, taskDefinition=ec2_td["family"])
    assert run["tasks"] == []
    assert f.desired() and len(f.desired()) == 2
    # a Fargate size that does not exist
    expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                 taskDefinition=td["family"], launchType="FARGATE",
                 overrides={"cpu": "256", "memory": "4096"})
    expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                 taskDefinition=td["family"], launchType="FARGATE",
                 placementStrategy=[{"type": "random"}])


def test_fargate_capacity_is_accounted(wharfd):
    region = "wh-fgres-" + uuid.uuid4().hex[:6]
    ecs = wharfd.client("ecs", region)
    agents(wharfd, "wharf-fargate", n=1, region=region, fargate=True, cpu=4096, memory=8192)
    c = new_cluster(ecs)
    big = fargate_td(ecs, cpu="4096", memory="8192")
    run = ecs.run_task(cluster=c, taskDefinition=big["family"], launchType="FARGATE", count=2)
    assert len(run["tasks"]) == 1
    assert run["failures"] == [{"arn": cluster_arn(c, region, wharfd.account),
                                "reason": "RESOURCE:CPU"}]


def test_capacity_provider_strategy(wharfd):
    region = "wh-cps-" + uuid.uuid4().hex[:6]
    ecs = wharfd.client("ecs", region)
    agents(wharfd, "wharf-fargate", n=1, region=region, fargate=True, cpu=8192, memory=16384)
    c = new_cluster(ecs, capacityProviders=["FARGATE", "FARGATE_SPOT"],
                    defaultCapacityProviderStrategy=[
                        {"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    td = fargate_td(ecs)
    # the cluster's default strategy applies when neither launchType nor strategy is given
    t = ecs.run_task(cluster=c, taskDefinition=td["family"])["tasks"][0]
    assert t["launchType"] == "FARGATE" and t["capacityProviderName"] == "FARGATE_SPOT"
    run = ecs.run_task(cluster=c, taskDefinition=td["family"], count=3,
                       capacityProviderStrategy=[
                           {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                           {"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert [x["capacityProviderName"] for x in run["tasks"]] == ["FARGATE", "FARGATE",
                                                                 "FARGATE_SPOT"]
    expect_error("InvalidParameterException", ecs.run_task, cluster=c,
                 taskDefinition=td["family"], launchType="FARGATE",
                 capacityProviderStrategy=[{"capacityProvider": "FARGATE"}])
    plain = new_cluster(ecs)
    expect_error("InvalidParameterException", ecs.run_task, cluster=plain,
                 taskDefinition=td["family"],
                 capacityProviderStrategy=[{"capacityProvider": "FARGATE"}])


# ---- attributes ---------------------------------------------------------------------------

def test_attributes(wharfd, ecs):
    c = new_cluster(ecs)
    a, b = agents(wharfd, c)
    put = ecs.put_attributes(cluster=c, attributes=[
        {"name": "stack", "value": "prod", "targetId": a.arn},
        {"name": "gpu", "targetId": b.arn.rsplit("/", 1)[1]}])
    assert put["attributes"][0]["targetType"] == "container-instance"
    got = ecs.list_attributes(cluster=c, targetType="container-instance",
                              attributeName="stack")["attributes"]
    assert got == [{"name": "stack", "value": "prod", "targetType": "container-instance",
                    "targetId": a.arn}]
    got = ecs.list_attributes(cluster=c, targetType="container-instance", attributeName="gpu")
    assert [x["targetId"] for x in got["attributes"]] == [b.arn]
    assert ecs.list_attributes(cluster=c, targetType="container-instance",
                               attributeName="stack", attributeValue="dev")["attributes"] == []
    everything = ecs.list_attributes(cluster=c, targetType="container-instance")["attributes"]
    page = ecs.list_attributes(cluster=c, targetType="container-instance", maxResults=2)
    assert len(page["attributes"]) == 2 and "nextToken" in page
    # placement sees the new attribute
    td = register_td(ecs)
    run = ecs.run_task(cluster=c, taskDefinition=td["family"], count=2,
                       placementConstraints=[{"type": "memberOf",
                                              "expression": "attribute:stack == prod"}])
    assert placed_on(run["tasks"]) == [a.arn, a.arn]
    ecs.delete_attributes(cluster=c, attributes=[{"name": "stack", "targetId": a.arn}])
    after = ecs.list_attributes(cluster=c, targetType="container-instance")["attributes"]
    assert len(after) == len(everything) - 1
    expect_error("TargetNotFoundException", ecs.put_attributes, cluster=c,
                 attributes=[{"name": "x", "value": "y", "targetId": "nope"}])
    expect_error("InvalidParameterException", ecs.put_attributes, cluster=c,
                 attributes=[{"name": "bad name", "value": "y", "targetId": a.arn}])
    expect_error("InvalidParameterException", ecs.put_attributes, cluster=c,
                 attributes=[{"name": "x", "value": " y", "targetId": a.arn}])
    expect_error("InvalidParameterException", ecs.put_attributes, cluster=c,
                 attributes=[{"name": f"n{i}", "value": "v", "targetId": a.arn}
                             for i in range(11)])
    expect_error("InvalidParameterException", ecs.list_attributes, cluster=c,
                 targetType="container-instance", attributeValue="prod")


# ---- the CLI's waiters ----------------------------------------------------------------------

def test_cli_wait_tasks_running_and_stopped(wharfd, ecs):
    c = new_cluster(ecs)
    (a,) = agents(wharfd, c, n=1)
    td = register_td(ecs)
    arn = wharfd.cli("ecs", "run-task", "--cluster", c, "--task-definition",
                     td["family"])["tasks"][0]["taskArn"]
    a.run_all()
    assert wharfd.cli("ecs", "wait", "tasks-running", "--cluster", c, "--tasks", arn) is None
    wharfd.cli("ecs", "stop-task", "--cluster", c, "--task", arn)
    a.stop_all()
    assert wharfd.cli("ecs", "wait", "tasks-stopped", "--cluster", c, "--tasks", arn) is None
    out = wharfd.cli("ecs", "describe-tasks", "--cluster", c, "--tasks", arn)
    assert out["tasks"][0]["lastStatus"] == "STOPPED"
