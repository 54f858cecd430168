"""Task definitions: RegisterTaskDefinition and its validation, DescribeTaskDefinition,
ListTaskDefinitions, ListTaskDefinitionFamilies, DeregisterTaskDefinition, DeleteTaskDefinitions."""
import datetime

import pytest

from conftest import (assert_subset, container, expect_error, list_all, tags_dict, td_arn, uniq)

# ECS answers most semantic RegisterTaskDefinition failures with ClientException; the model
# validator (types, ranges) uses InvalidParameterException. Either is a 400 the SDKs surface.
TD_ERRORS = ("ClientException", "InvalidParameterException")


def register(ecs, family, containers=None, **kw):
    return ecs.register_task_definition(
        family=family, containerDefinitions=containers or [container()], **kw)["taskDefinition"]


def arns_of(ecs, family, **kw):
    return list_all(ecs.list_task_definitions, "taskDefinitionArns", familyPrefix=family, **kw)[0]


# ---- RegisterTaskDefinition ----------------------------------------------------------------

def test_register_makes_revisions_1_2_3(ecs):
    fam = uniq("rev")
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    for rev in (1, 2, 3):
        td = register(ecs, fam, [container(image=f"busybox:{rev}")])
        assert td["family"] == fam
        assert td["revision"] == rev
        assert td["taskDefinitionArn"] == td_arn(fam, rev)
        assert td["status"] == "ACTIVE"
        assert td["containerDefinitions"][0]["image"] == f"busybox:{rev}"
        assert td["containerDefinitions"][0]["name"] == "web"
        assert td["containerDefinitions"][0]["memory"] == 128
        assert before <= td["registeredAt"] <= datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=5)
    assert arns_of(ecs, fam) == [td_arn(fam, r) for r in (1, 2, 3)]


def test_register_round_trips_container_and_task_fields(ecs):
    fam = uniq("rich")
    app = {
        "name": "app", "image": "busybox:1.36", "cpu": 128, "memory": 256,
        "memoryReservation": 128, "essential": True,
        "command": ["sh", "-c", "echo hi && sleep 3600"],
        "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
        "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5,
                        "retries": 3, "startPeriod": 10},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/app", "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "app"}},
        "workingDirectory": "/srv", "user": "1000", "dockerLabels": {"tier": "web"},
        "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
        "dependsOn": [{"containerName": "sidecar", "condition": "START"}],
        "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": False}],
    }
    env = [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    sidecar = {"name": "sidecar", "image": "busybox:1.36", "memory": 64, "essential": False}
    td = ecs.register_task_definition(
        family=fam, containerDefinitions=[dict(app, environment=env), sidecar],
        taskRoleArn="arn:aws:iam::123456789012:role/app",
        executionRoleArn="arn:aws:iam::123456789012:role/exec",
        networkMode="bridge", volumes=[{"name": "data", "host": {"sourcePath": "/tmp/data"}}],
        cpu="512", memory="1024")["taskDefinition"]
    described = ecs.describe_task_definition(taskDefinition=f"{fam}:1")["taskDefinition"]
    for got in (td, described):
        by_name = {c["name"]: c for c in got["containerDefinitions"]}
        assert sorted(by_name) == ["app", "sidecar"]
        assert_subset(app, by_name["app"])
        assert sorted(by_name["app"]["environment"], key=lambda e: e["name"]) == \
            sorted(env, key=lambda e: e["name"])
        assert_subset(sidecar, by_name["sidecar"])
        assert got["taskRoleArn"] == "arn:aws:iam::123456789012:role/app"
        assert got["executionRoleArn"] == "arn:aws:iam::123456789012:role/exec"
        assert got["networkMode"] == "bridge"
        assert got["volumes"][0]["name"] == "data"
        assert got["volumes"][0]["host"] == {"sourcePath": "/tmp/data"}
        assert (got["cpu"], got["memory"]) == ("512", "1024")
        assert got["revision"] == 1


def fargate(**kw):
    base = {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256",
            "memory": "512"}
    base.update(kw)
    return base


# (id, RegisterTaskDefinition arguments except family, needles the message must contain;
# a tuple needle means any one of them)
INVALID_CASES = [
    ("fargate-bad-cpu-memory-pair", dict(fargate(memory="4096")), ["4096"]),
    ("fargate-512-512", dict(fargate(cpu="512", memory="512")), ["512"]),
    ("fargate-bridge", dict(fargate(networkMode="bridge")), ["awsvpc"]),
    ("fargate-no-network-mode",
     {"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"}, ["awsvpc"]),
    ("fargate-no-task-cpu",
     {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "memory": "512"}, ["cpu"]),
    ("no-essential-container",
     {"containerDefinitions": [container("a", essential=False), container("b", essential=False)]},
     ["essential"]),
    ("duplicate-container-names",
     {"containerDefinitions": [container("twin"), container("twin", essential=False)]}, ["twin"]),
    ("missing-memory",
     {"containerDefinitions": [{"name": "nomem", "image": "busybox", "essential": True}]},
     ["nomem", "memory"]),
    ("reservation-above-memory",
     {"containerDefinitions": [container("resv", memory=64, memoryReservation=128)]},
     ["memoryReservation"]),
    ("depends-on-unknown-container",
     {"containerDefinitions": [container("a", dependsOn=[{"containerName": "ghost",
                                                          "condition": "START"}])]}, ["ghost"]),
    ("depends-on-cycle",
     {"containerDefinitions": [
         container("alpha", dependsOn=[{"containerName": "beta", "condition": "START"}]),
         container("beta", essential=False,
                   dependsOn=[{"containerName": "alpha", "condition": "START"}])]},
     [("alpha", "beta")]),
    ("depends-on-itself",
     {"containerDefinitions": [container("selfie", dependsOn=[{"containerName": "selfie",
                                                              "condition": "START"}])]},
     ["selfie"]),
    ("awsvpc-host-port-differs",
     {"networkMode": "awsvpc",
      "containerDefinitions": [container(portMappings=[{"containerPort": 80, "hostPort": 8080}])]},
     ["8080"]),
    ("host-mode-host-port-differs",
     {"networkMode": "host",
      "containerDefinitions": [container(portMappings=[{"containerPort": 80, "hostPort": 8080}])]},
     ["8080"]),
    ("container-port-out-of-range",
     {"containerDefinitions": [container(portMappings=[{"containerPort": 70000}])]}, ["70000"]),
    ("health-interval-too-short",
     {"containerDefinitions": [container(healthCheck={"command": ["CMD", "true"], "interval": 4})]},
     ["interval"]),
    ("health-timeout-too-long",
     {"containerDefinitions": [container(healthCheck={"command": ["CMD", "true"], "timeout": 61})]},
     ["timeout"]),
    ("health-retries-too-many",
     {"containerDefinitions": [container(healthCheck={"command": ["CMD", "true"], "retries": 11})]},
     ["retries"]),
    ("health-start-period-too-long",
     {"containerDefinitions": [container(healthCheck={"command": ["CMD", "true"],
                                                      "startPeriod": 301})]},
     ["startPeriod"]),
    ("no-containers", {"containerDefinitions": []}, []),
]


@pytest.mark.parametrize("kwargs,needles", [(c[1], c[2]) for c in INVALID_CASES],
                         ids=[c[0] for c in INVALID_CASES])
def test_register_validation(ecs, kwargs, needles):
    fam = uniq("bad")
    args = {"containerDefinitions": [container()]}
    args.update(kwargs)
    msg = expect_error(TD_ERRORS, ecs.register_task_definition, family=fam, **args)
    for n in needles:
        alts = n if isinstance(n, tuple) else (n,)
        assert any(a in msg for a in alts), f"message {msg!r} names none of {alts}"
    # Nothing was registered.
    assert arns_of(ecs, fam) == []


@pytest.mark.parametrize("family", ["bad family", "semi;colon", "f" * 256, "slash/no"])
def test_register_rejects_bad_family(ecs, family):
    msg = expect_error(TD_ERRORS, ecs.register_task_definition, family=family,
                       containerDefinitions=[container()])
    assert "family" in msg.lower()


def test_register_accepts_longest_family(ecs):
    fam = (uniq("long") + "_" + "f" * 255)[:255]
    td = register(ecs, fam)
    assert (td["family"], td["revision"]) == (fam, 1)


def test_fargate_cpu_memory_table(ecs):
    valid = [("256", "512"), ("256", "2048"), ("512", "1024"), ("512", "4096"),
             ("1024", "2048"), ("1024", "8192"), ("2048", "4096"), ("2048", "16384"),
             ("4096", "8192"), ("4096", "30720"), ("8192", "16384"), ("8192", "61440"),
             ("16384", "32768"), ("16384", "122880")]
    invalid = [("256", "256"), ("256", "3072"), ("512", "512"), ("512", "5120"),
               ("1024", "1024"), ("1024", "9216"), ("2048", "2048"), ("2048", "17408"),
               ("4096", "31744"), ("8192", "18432"), ("16384", "30720"), ("128", "512"),
               ("3072", "8192")]
    fam = uniq("fg")
    rev = 0
    for cpu, mem in valid:
        td = ecs.register_task_definition(family=fam, containerDefinitions=[container()],
                                          **fargate(cpu=cpu, memory=mem))["taskDefinition"]
        rev += 1
        assert td["revision"] == rev
        assert (td["cpu"], td["memory"]) == (cpu, mem)
        assert td["requiresCompatibilities"] == ["FARGATE"]
        assert "FARGATE" in td["compatibilities"]
        assert td["networkMode"] == "awsvpc"
    bad = []
    for cpu, mem in invalid:
        try:
            ecs.register_task_definition(family=fam, containerDefinitions=[container()],
                                         **fargate(cpu=cpu, memory=mem))
            bad.append((cpu, mem))
        except ecs.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] in TD_ERRORS, e
    assert bad == [], f"Fargate accepted invalid cpu/memory pairs {bad}"
    assert len(arns_of(ecs, fam)) == len(valid)


def test_task_level_memory_covers_containers_without_memory(ecs):
    fam = uniq("tmem")
    td = register(ecs, fam, [{"name": "lean", "image": "busybox", "essential": True}],
                  memory="512")
    assert td["memory"] == "512"
    assert "memory" not in td["containerDefinitions"][0] or \
        td["containerDefinitions"][0]["memory"] is None


def test_port_mapping_rules_per_network_mode(ecs):
    # bridge: any host port (0 = dynamic) for a container port.
    td = register(ecs, uniq("bridge"), [container(portMappings=[
        {"containerPort": 80, "hostPort": 8080}, {"containerPort": 443, "hostPort": 0}])],
        networkMode="bridge")
    pm = td["containerDefinitions"][0]["portMappings"]
    assert [(p["containerPort"], p["hostPort"]) for p in pm] == [(80, 8080), (443, 0)]
    assert all(p.get("protocol", "tcp") == "tcp" for p in pm)
    # awsvpc: hostPort left out is the container port.
    td = register(ecs, uniq("awsvpc"), [container(portMappings=[{"containerPort": 80}])],
                  networkMode="awsvpc")
    pm = td["containerDefinitions"][0]["portMappings"]
    assert [(p["containerPort"], p["hostPort"]) for p in pm] == [(80, 80)]
    # awsvpc with matching ports, udp.
    td = register(ecs, uniq("awsvpc"), [container(portMappings=[
        {"containerPort": 53, "hostPort": 53, "protocol": "udp"}])], networkMode="awsvpc")
    assert td["containerDefinitions"][0]["portMappings"][0]["protocol"] == "udp"


def test_health_check_bounds_are_inclusive(ecs):
    hc = {"command": ["CMD-SHELL", "exit 0"], "interval": 5, "timeout": 2, "retries": 1,
          "startPeriod": 0}
    td = register(ecs, uniq("hc"), [container(healthCheck=hc)])
    assert_subset(hc, td["containerDefinitions"][0]["healthCheck"])
    hc = {"command": ["CMD", "true"], "interval": 300, "timeout": 60, "retries": 10,
          "startPeriod": 300}
    td = register(ecs, uniq("hc"), [container(healthCheck=hc)])
    assert_subset(hc, td["containerDefinitions"][0]["healthCheck"])


def test_register_with_tags(ecs):
    fam = uniq("tdtag")
    tags = [{"key": "team", "value": "a"}, {"key": "cost", "value": "42"}]
    r = ecs.register_task_definition(family=fam, containerDefinitions=[container()], tags=tags)
    assert tags_dict(r.get("tags", tags)) == tags_dict(tags)
    d = ecs.describe_task_definition(taskDefinition=fam, include=["TAGS"])
    assert tags_dict(d["tags"]) == tags_dict(tags)
    assert tags_dict(ecs.list_tags_for_resource(resourceArn=td_arn(fam, 1))["tags"]) == \
        tags_dict(tags)
    # Without include=TAGS there are no tags in the answer.
    assert ecs.describe_task_definition(taskDefinition=fam).get("tags", []) == []
    # Tags belong to the revision: revision 2 starts without them.
    register(ecs, fam)
    assert ecs.list_tags_for_resource(resourceArn=td_arn(fam, 2))["tags"] == []


# ---- DescribeTaskDefinition ----------------------------------------------------------------

def test_describe_by_family_revision_and_arn(ecs):
    fam = uniq("desc")
    for i in range(3):
        register(ecs, fam, [container(image=f"img:{i + 1}")])
    d = lambda ref: ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"]  # noqa
    assert d(fam)["revision"] == 3
    assert d(f"{fam}:1")["revision"] == 1
    assert d(f"{fam}:1")["containerDefinitions"][0]["image"] == "img:1"
    assert d(td_arn(fam, 2))["revision"] == 2
    assert d(td_arn(fam, 2))["containerDefinitions"][0]["image"] == "img:2"
    # The family alone means its latest ACTIVE revision.
    ecs.deregister_task_definition(taskDefinition=f"{fam}:3")
    assert d(fam)["revision"] == 2
    got = d(f"{fam}:3")
    assert (got["revision"], got["status"]) == (3, "INACTIVE")


@pytest.mark.parametrize("ref", ["nosuchfamily-{u}", "nosuchfamily-{u}:1",
                                 "arn:aws:ecs:us-east-1:123456789012:task-definition/nosuch-{u}:7"])
def test_describe_unknown_task_definition(ecs, ref):
    expect_error("ClientException", ecs.describe_task_definition,
                 taskDefinition=ref.format(u=uniq("x")))


def test_describe_unknown_revision_of_known_family(ecs):
    fam = uniq("known")
    register(ecs, fam)
    expect_error("ClientException", ecs.describe_task_definition, taskDefinition=f"{fam}:2")


def test_task_definitions_are_regional(wharfd):
    west = wharfd.client(region="us-west-1")
    east = wharfd.client(region="us-east-1")
    fam = uniq("regional")
    td = register(west, fam)
    assert td["taskDefinitionArn"] == td_arn(fam, 1, "us-west-1")
    expect_error("ClientException", east.describe_task_definition, taskDefinition=fam)
    assert arns_of(east, fam) == []
    # The family's revisions count per region.
    assert register(east, fam)["revision"] == 1
    assert register(west, fam)["revision"] == 2


# ---- ListTaskDefinitions -------------------------------------------------------------------

def test_list_task_definitions_filters_sort_and_pages(ecs):
    fam = uniq("lst")
    other = fam + "x"  # familyPrefix is a whole family name in ListTaskDefinitions
    for _ in range(11):
        register(ecs, fam)
    for _ in range(2):
        register(ecs, other)
    ecs.deregister_task_definition(taskDefinition=f"{fam}:5")

    active = [td_arn(fam, r) for r in range(1, 12) if r != 5]
    # ASC by default, revisions in numeric order (10 and 11 after 9).
    assert arns_of(ecs, fam) == active
    assert arns_of(ecs, fam, sort="ASC") == active
    assert arns_of(ecs, fam, sort="DESC") == active[::-1]
    assert arns_of(ecs, fam, status="ACTIVE") == active
    assert arns_of(ecs, fam, status="INACTIVE") == [td_arn(fam, 5)]
    assert arns_of(ecs, other) == [td_arn(other, 1), td_arn(other, 2)]

    items, pages = list_all(ecs.list_task_definitions, "taskDefinitionArns",
                            familyPrefix=fam, maxResults=4)
    assert items == active
    assert pages == 3
    items, pages = list_all(ecs.list_task_definitions, "taskDefinitionArns",
                            familyPrefix=fam, maxResults=3, sort="DESC")
    assert items == active[::-1]
    assert pages == 4


def test_list_task_definitions_orders_by_family_then_revision(wharfd):
    ecs = wharfd.client(region="eu-west-3")  # only this test registers here
    u = uniq("o")
    a, b = f"a-{u}", f"b-{u}"
    for fam in (b, a, b, a, b):
        register(ecs, fam)
    expected = [td_arn(a, 1, "eu-west-3"), td_arn(a, 2, "eu-west-3"),
                td_arn(b, 1, "eu-west-3"), td_arn(b, 2, "eu-west-3"), td_arn(b, 3, "eu-west-3")]
    assert list_all(ecs.list_task_definitions, "taskDefinitionArns")[0] == expected
    assert list_all(ecs.list_task_definitions, "taskDefinitionArns", sort="DESC")[0] == \
        expected[::-1]
    assert list_all(ecs.list_task_definitions, "taskDefinitionArns", maxResults=2)[0] == expected


def test_list_task_definitions_rejects_bad_token(ecs):
    expect_error("InvalidParameterException", ecs.list_task_definitions, nextToken="garbage!")


# ---- ListTaskDefinitionFamilies ------------------------------------------------------------

def test_list_task_definition_families(ecs):
    p = uniq("fams")
    fa, fb, fc = f"{p}-a", f"{p}-b", f"{p}-c"
    register(ecs, fa)
    register(ecs, fb)
    register(ecs, fb)
    register(ecs, fc)
    register(ecs, fc)
    ecs.deregister_task_definition(taskDefinition=f"{fb}:1")
    ecs.deregister_task_definition(taskDefinition=f"{fb}:2")
    ecs.deregister_task_definition(taskDefinition=f"{fc}:1")

    def fams(**kw):
        return list_all(ecs.list_task_definition_families, "families", familyPrefix=p, **kw)[0]

    assert fams() == [fa, fb, fc]  # by default both ACTIVE and INACTIVE families
    assert fams(status="ALL") == [fa, fb, fc]
    assert fams(status="ACTIVE") == [fa, fc]
    assert fams(status="INACTIVE") == [fb]
    items, pages = list_all(ecs.list_task_definition_families, "families", familyPrefix=p,
                            maxResults=1)
    assert (items, pages) == ([fa, fb, fc], 3)
    # familyPrefix here is a real prefix; a longer one narrows.
    assert fams_prefix(ecs, f"{p}-b") == [fb]


def fams_prefix(ecs, prefix):
    return list_all(ecs.list_task_definition_families, "families", familyPrefix=prefix)[0]


# ---- DeregisterTaskDefinition --------------------------------------------------------------

def test_deregister_task_definition(ecs):
    fam = uniq("dereg")
    register(ecs, fam)
    register(ecs, fam)
    td = ecs.deregister_task_definition(taskDefinition=f"{fam}:1")["taskDefinition"]
    assert (td["taskDefinitionArn"], td["status"]) == (td_arn(fam, 1), "INACTIVE")
    assert isinstance(td.get("deregisteredAt"), datetime.datetime), td
    td = ecs.deregister_task_definition(taskDefinition=td_arn(fam, 2))["taskDefinition"]
    assert td["status"] == "INACTIVE"
    got = ecs.describe_task_definition(taskDefinition=f"{fam}:1")["taskDefinition"]
    assert (got["revision"], got["status"]) == (1, "INACTIVE")
    assert got["containerDefinitions"][0]["name"] == "web"
    assert arns_of(ecs, fam) == []
    assert arns_of(ecs, fam, status="INACTIVE") == [td_arn(fam, 1), td_arn(fam, 2)]
    # A new registration continues the numbering.
    assert register(ecs, fam)["revision"] == 3


@pytest.mark.parametrize("ref", ["{fam}", "{fam}:99", "other-{fam}:1"])
def test_deregister_needs_an_existing_revision(ecs, ref):
    fam = uniq("dr")
    register(ecs, fam)
    expect_error(TD_ERRORS, ecs.deregister_task_definition, taskDefinition=ref.format(fam=fam))
    assert arns_of(ecs, fam) == [td_arn(fam, 1)]


# ---- DeleteTaskDefinitions (not in Debian's boto3 1.26 model: raw signed requests) ----------

def test_delete_task_definitions(wharfd, ecs):
    fam = uniq("deltd")
    for _ in range(3):
        register(ecs, fam)
    ecs.deregister_task_definition(taskDefinition=f"{fam}:1")
    ecs.deregister_task_definition(taskDefinition=f"{fam}:2")

    r = wharfd.call("DeleteTaskDefinitions", {"taskDefinitions": [
        f"{fam}:1", td_arn(fam, 2), f"{fam}:3", f"{fam}:99"]})
    assert r.status == 200, r
    body = r.json()
    deleted = {t["taskDefinitionArn"]: t for t in body["taskDefinitions"]}
    assert sorted(deleted) == [td_arn(fam, 1), td_arn(fam, 2)]
    assert all(t["status"] == "DELETE_IN_PROGRESS" for t in deleted.values()), deleted
    failures = sorted(body["failures"], key=lambda f: f["arn"])
    assert [f["arn"].rsplit("/", 1)[-1] for f in failures] == [f"{fam}:3", f"{fam}:99"]
    assert all(f.get("reason") for f in failures), failures

    # The ACTIVE revision is untouched, the deleted ones are listed nowhere.
    assert ecs.describe_task_definition(taskDefinition=f"{fam}:3")["taskDefinition"]["status"] \
        == "ACTIVE"
    assert arns_of(ecs, fam) == [td_arn(fam, 3)]
    assert arns_of(ecs, fam, status="INACTIVE") == []
    # Revision numbers are never reused.
    assert register(ecs, fam)["revision"] == 4


def test_delete_task_definitions_of_latest_revision_keeps_numbering(wharfd, ecs):
    fam = uniq("dellast")
    register(ecs, fam)
    register(ecs, fam)
    ecs.deregister_task_definition(taskDefinition=f"{fam}:2")
    r = wharfd.call("DeleteTaskDefinitions", {"taskDefinitions": [f"{fam}:2"]})
    assert r.status == 200 and r.json()["failures"] == [], r
    assert register(ecs, fam)["revision"] == 3


def test_delete_task_definitions_limits(wharfd):
    fam = uniq("dellim")
    r = wharfd.call("DeleteTaskDefinitions",
                    {"taskDefinitions": [f"{fam}:{i}" for i in range(1, 12)]})
    assert r.status == 400 and r.error_type in TD_ERRORS, r
    r = wharfd.call("DeleteTaskDefinitions", {"taskDefinitions": [fam]})  # no revision
    assert r.status in (200, 400), r
    if r.status == 200:
        assert r.json()["taskDefinitions"] == [] and len(r.json()["failures"]) == 1, r
    else:
        assert r.error_type in TD_ERRORS
    r = wharfd.call("DeleteTaskDefinitions", {})
    assert r.status == 400 and r.error_type == "InvalidParameterException", r
    assert "taskDefinitions" in r.message
