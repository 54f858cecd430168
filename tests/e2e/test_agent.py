"""Real containers (issue 4): wharfd with its local Fargate capacity (the wharf-agent child it
starts) and EC2 agents started here, running images built from busybox-static, pushed to
wharfd's own registry with skopeo, run with runc under wharf-shim. Driven with the AWS CLI v2 and
boto3 like a user would.

Needs root (namespaces, cgroups, overlay mounts), runc, skopeo and busybox-static;
skipped with the reason otherwise. Run: WHARFD=build/wharfd /usr/bin/python3 -m pytest
tests/e2e/test_agent.py (wharf-agent is found beside wharfd)."""
import calendar
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from conftest import SANITIZER_MARKERS, WHARFD, _make, uniq, wait_for
from net_helpers import purge_net, subnet_pool
from registry_helpers import (BUSYBOX, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Registry,
                              descriptor, login_password, sha256, skopeo, write_layout)

AGENT = str(Path(WHARFD).resolve().parent / "wharf-agent")
APPLETS = ["sh", "sleep", "cat", "echo", "head", "tr", "true", "false", "ls", "date", "touch",
           "test", "wc"]


def _missing():
    if os.geteuid() != 0:
        return "needs root: containers need namespaces, cgroups and overlay mounts"
    for tool in ("runc", "skopeo"):
        if not shutil.which(tool, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"):
            return f"{tool} is not installed (scripts/deps installs it)"
    if not os.path.exists(BUSYBOX):
        return "busybox-static is not installed (scripts/deps installs it)"
    if not os.access(AGENT, os.X_OK):
        return f"{AGENT} is not built"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


# ---- images ------------------------------------------------------------------------------

def _tar(entries):
    """A gzip'd tar from [(name, kind, data_or_target)], reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(ti)
            elif kind == "link":
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, data, 0o777
                tar.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o755 if kind == "exe" else 0o644
                tar.addfile(ti, io.BytesIO(data))
    diff = raw.getvalue()
    return gzip.compress(diff, mtime=0), sha256(diff)


def busybox_entries():
    entries = [("bin", "dir", None), ("bin/busybox", "exe", Path(BUSYBOX).read_bytes()),
               ("etc", "dir", None), ("tmp", "dir", None),
               ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"),
               ("etc/group", "file", b"root:x:0:\nnogroup:x:65534:\n")]
    entries += [(f"bin/{a}", "link", "busybox") for a in APPLETS]
    return entries


class OciImage:
    """A one-platform OCI image from layers [(gz, diff_id)]."""

    def __init__(self, layers, cmd=("/bin/sh",)):
        self.layers = [gz for gz, _ in layers]
        cfg = {"architecture": "amd64", "os": "linux",
               "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"]},
               "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]}}
        self.config = json.dumps(cfg, sort_keys=True).encode()
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": descriptor(OCI_CONFIG, self.config),
             "layers": [descriptor(OCI_LAYER, l) for l in self.layers]}
        self.media_type = OCI_MANIFEST
        self.manifest = json.dumps(m).encode()
        self.digest = sha256(self.manifest)

    def blobs(self):
        return [self.config, *self.layers]


# ---- the daemon, its agents, cleanup -----------------------------------------------------

def purge_agent_dir(data):
    """Remove what tasks of an agent data dir left on the host: containers, mounts, cgroups."""
    data = Path(data)
    root = data / "runc"
    if root.exists():
        p = subprocess.run(["runc", "--root", str(root), "list", "-q"], capture_output=True,
                           text=True)
        for cid in p.stdout.split():
            subprocess.run(["runc", "--root", str(root), "delete", "--force", cid],
                           capture_output=True)
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for m in sorted((m for m in mounts if m.startswith(str(data) + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)
    for task_dir in (data / "tasks").glob("*") if (data / "tasks").exists() else []:
        for ctl in Path("/sys/fs/cgroup").iterdir():
            cg = ctl / "wharf" / task_dir.name
            if cg.is_dir():
                for sub in cg.iterdir():
                    if sub.is_dir():
                        try:
                            sub.rmdir()
                        except OSError:
                            pass
                try:
                    cg.rmdir()
                except OSError:
                    pass
    purge_net(data)  # namespaces, leases, iptables rules, bridges (src/agent/net/)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """wharfd with its local Fargate capacity (the default), an image in its registry."""
    # A subnet pool of its own: another wharfd on this host hands out the same subnets.
    d = _make(tmp_path_factory.mktemp("agent"), "agent",
              extra_args=["--task-subnet-pool", subnet_pool()])
    d.start()
    ecr = d.client("ecr")
    ecr.create_repository(repositoryName="bb")
    password = login_password(d)
    layout = write_layout(tmp_path_factory.mktemp("layout"), "1",
                          [OciImage([_tar(busybox_entries())])])
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
           f"oci:{layout}:1", f"docker://127.0.0.1:{d.port}/bb:1")
    d.image = f"127.0.0.1:{d.port}/bb:1"
    d.password = password
    d.ecs = d.client("ecs")
    d.cluster = uniq("agent")
    d.ecs.create_cluster(clusterName=d.cluster)
    wait_for(lambda: fargate_instance(d), timeout=30, what="the local agent's registration")
    yield d
    if d.running:
        d.stop(timeout=30)
    purge_agent_dir(d.data_dir / "agent")


def fargate_instance(d):
    """The local agent registered (its instance.json exists)."""
    return (d.data_dir / "agent" / "instance.json").exists()


def agent_log(d, task_arn, name):
    tid = task_arn.rsplit("/", 1)[1]
    p = d.data_dir / "agent" / "logs" / tid / f"{name}.log"
    return p.read_text() if p.exists() else ""


def fargate_td(d, containers, family=None, **kw):
    family = family or uniq("fam")
    for c in containers:
        c.setdefault("image", d.image)
    d.ecs.register_task_definition(family=family, networkMode="awsvpc",
                                   requiresCompatibilities=["FARGATE"], cpu="256",
                                   memory="512", containerDefinitions=containers, **kw)
    return family


def run_fargate(d, family, **kw):
    r = d.ecs.run_task(cluster=d.cluster, taskDefinition=family, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
                       **kw)
    assert r["failures"] == [], r["failures"]
    return r["tasks"][0]["taskArn"]


def describe(d, arn, cluster=None):
    return d.ecs.describe_tasks(cluster=cluster or d.cluster, tasks=[arn])["tasks"][0]


def wait_status(d, arn, status, timeout=60, cluster=None):
    return wait_for(lambda: (lambda t: t if t["lastStatus"] == status else None)(
        describe(d, arn, cluster)), timeout=timeout, interval=0.1, what=f"{arn} {status}")


def ctr(task, name):
    return next(c for c in task["containers"] if c["name"] == name)


SLEEPER = "trap 'exit 0' TERM; sleep 1000 & wait"


# ---- the CLI path --------------------------------------------------------------------------

def test_run_task_cli_running_logs_stop(farm):
    d = farm
    word = uniq("hello")
    fam = fargate_td(d, [{"name": "main", "command": ["sh", "-c", f"echo {word}; {SLEEPER}"]}])
    out = d.cli("ecs", "run-task", "--cluster", d.cluster, "--task-definition", fam,
                "--launch-type", "FARGATE", "--network-configuration",
                "awsvpcConfiguration={subnets=[subnet-1]}")
    assert out["failures"] == []
    arn = out["tasks"][0]["taskArn"]
    assert d.cli("ecs", "wait", "tasks-running", "--cluster", d.cluster, "--tasks", arn) is None
    t = describe(d, arn)
    assert t["lastStatus"] == "RUNNING" and t["launchType"] == "FARGATE"
    c = ctr(t, "main")
    assert c["lastStatus"] == "RUNNING"
    assert c["runtimeId"] == f"{arn.rsplit('/', 1)[1]}-main"
    assert c["imageDigest"].startswith("sha256:")
    assert t["pullStartedAt"] <= t["pullStoppedAt"] <= t["startedAt"]
    wait_for(lambda: word in agent_log(d, arn, "main"), timeout=10, what="the container's output")
    line = next(l for l in agent_log(d, arn, "main").splitlines() if word in l)
    assert " stdout F " in line  # the k8s-file format (wharf-shim writes it as conmon did)
    d.cli("ecs", "stop-task", "--cluster", d.cluster, "--task", arn, "--reason", "done here")
    assert d.cli("ecs", "wait", "tasks-stopped", "--cluster", d.cluster, "--tasks", arn) is None
    t = describe(d, arn)
    assert t["lastStatus"] == "STOPPED" and t["stopCode"] == "UserInitiated"
    assert t["stoppedReason"] == "done here"
    assert ctr(t, "main")["exitCode"] == 0  # the trap ran: SIGTERM first
    assert t["executionStoppedAt"] <= t["stoppedAt"]


# ---- lifecycle semantics -------------------------------------------------------------------

def test_essential_exit_stops_the_task_with_exit_codes(farm):
    d = farm
    fam = fargate_td(d, [
        {"name": "main", "essential": True, "command": ["sh", "-c", "sleep 1; exit 3"]},
        {"name": "side", "essential": False, "command": ["sh", "-c", SLEEPER]},
        {"name": "quick", "essential": False, "command": ["sh", "-c", "exit 5"]},
    ])
    arn = run_fargate(d, fam)
    t = wait_status(d, arn, "STOPPED", timeout=60)
    assert t["stopCode"] == "EssentialContainerExited"
    assert t["stoppedReason"] == "Essential container in task exited"
    assert ctr(t, "main")["exitCode"] == 3
    assert ctr(t, "quick")["exitCode"] == 5
    assert ctr(t, "side")["exitCode"] == 0  # stopped with SIGTERM, its trap exits 0
    assert all(c["lastStatus"] == "STOPPED" for c in t["containers"])


def test_non_essential_exit_keeps_the_task_running(farm):
    d = farm
    fam = fargate_td(d, [
        {"name": "main", "command": ["sh", "-c", SLEEPER]},
        {"name": "job", "essential": False, "command": ["sh", "-c", "exit 4"]},
    ])
    arn = run_fargate(d, fam)
    wait_for(lambda: ctr(describe(d, arn), "job").get("exitCode") == 4, timeout=30,
             what="the non-essential container's exit")
    time.sleep(1)
    t = describe(d, arn)
    assert t["lastStatus"] == "RUNNING" and ctr(t, "main")["lastStatus"] == "RUNNING"
    d.ecs.stop_task(cluster=d.cluster, task=arn)
    wait_status(d, arn, "STOPPED")


def test_stop_timeout_honoured(farm):
    d = farm
    fam = fargate_td(d, [{"name": "stubborn", "stopTimeout": 3,
                          "command": ["sh", "-c", "trap '' TERM; sleep 1000 & wait"]}])
    arn = run_fargate(d, fam)
    wait_status(d, arn, "RUNNING")
    t0 = time.monotonic()
    d.ecs.stop_task(cluster=d.cluster, task=arn)
    t = wait_status(d, arn, "STOPPED", timeout=30)
    took = time.monotonic() - t0
    assert 3 <= took < 15, f"stopped after {took:.1f} s; stopTimeout is 3 s"
    assert ctr(t, "stubborn")["exitCode"] == 137  # SIGKILL


def test_depends_on_ordering(farm):
    d = farm
    fam = fargate_td(d, [
        {"name": "init", "essential": False,
         "command": ["sh", "-c", "sleep 1; echo prepared > /shared/state"],
         "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}]},
        {"name": "app", "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
         "command": ["sh", "-c", f"cat /shared/state; {SLEEPER}"],
         "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}]},
        {"name": "tail", "essential": False,
         "dependsOn": [{"containerName": "app", "condition": "START"},
                       {"containerName": "init", "condition": "COMPLETE"}],
         "command": ["sh", "-c", f"echo after-app; {SLEEPER}"]},
    ], volumes=[{"name": "shared"}])
    arn = run_fargate(d, fam)
    t = wait_status(d, arn, "RUNNING", timeout=60)
    assert ctr(t, "init")["exitCode"] == 0
    wait_for(lambda: "prepared" in agent_log(d, arn, "app"), timeout=10,
             what="app reading what init wrote")
    wait_for(lambda: "after-app" in agent_log(d, arn, "tail"), timeout=10, what="tail's start")
    def first(name):  # "2026-11-29T11:38:03.464140129Z stdout F ..." -> seconds
        ts = agent_log(d, arn, name).splitlines()[0].split()[0]
        day, clock = ts[:19], ts[19:].rstrip("Z")
        return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + float(clock or 0)
    # START: tail starts once app has started, not once app has printed (the two programs
    # then race to their first line); without the dependency tail would print a second
    # before app, while app waits for init.
    assert first("tail") > first("app") - 0.25
    d.ecs.stop_task(cluster=d.cluster, task=arn)
    wait_status(d, arn, "STOPPED")


def test_unmet_dependency_fails_the_task(farm):
    d = farm
    fam = fargate_td(d, [
        {"name": "init", "essential": False, "command": ["sh", "-c", "exit 2"]},
        {"name": "app", "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
         "command": ["sh", "-c", SLEEPER]},
    ])
    arn = run_fargate(d, fam)
    t = wait_status(d, arn, "STOPPED", timeout=60)
    assert t["stopCode"] == "TaskFailedToStart"
    assert "init exited 2" in t["stoppedReason"]
    assert "exitCode" not in ctr(t, "app")
    assert ctr(t, "init")["exitCode"] == 2


def test_health_checks(farm):
    d = farm
    fam = fargate_td(d, [
        {"name": "good", "command": ["sh", "-c", SLEEPER],
         "healthCheck": {"command": ["CMD-SHELL", "test -d /bin"], "interval": 5,
                         "timeout": 2, "retries": 1}},
        {"name": "bad", "essential": False, "command": ["sh", "-c", SLEEPER],
         "healthCheck": {"command": ["CMD", "false"], "interval": 5, "timeout": 2,
                         "retries": 2}},
        {"name": "after", "essential": False,
         "dependsOn": [{"containerName": "good", "condition": "HEALTHY"}],
         "command": ["sh", "-c", SLEEPER]},
    ])
    arn = run_fargate(d, fam)
    wait_status(d, arn, "RUNNING")
    t = wait_for(lambda: (lambda t: t if ctr(t, "bad").get("healthStatus") == "UNHEALTHY"
                          and ctr(t, "good").get("healthStatus") == "HEALTHY" else None)(
        describe(d, arn)), timeout=40, interval=0.5, what="health statuses")
    assert t["lastStatus"] == "RUNNING"  # an unhealthy container is reported, not stopped
    assert t["healthStatus"] == "HEALTHY"  # only essential containers count
    wait_for(lambda: ctr(describe(d, arn), "after")["lastStatus"] == "RUNNING", timeout=20,
             what="the container waiting for HEALTHY")
    d.ecs.stop_task(cluster=d.cluster, task=arn)
    wait_status(d, arn, "STOPPED")


def test_unhealthy_essential_marks_the_task(farm):
    d = farm
    fam = fargate_td(d, [{"name": "main", "command": ["sh", "-c", SLEEPER],
                          "healthCheck": {"command": ["CMD-SHELL", "exit 1"], "interval": 5,
                                          "timeout": 2, "retries": 1}}])
    arn = run_fargate(d, fam)
    wait_for(lambda: describe(d, arn).get("healthStatus") == "UNHEALTHY", timeout=40,
             interval=0.5, what="the task's health UNHEALTHY")
    assert ctr(describe(d, arn), "main")["healthStatus"] == "UNHEALTHY"
    d.ecs.stop_task(cluster=d.cluster, task=arn)
    wait_status(d, arn, "STOPPED")


def test_memory_limit_oom(farm):
    d = farm
    fam = fargate_td(d, [{"name": "hog", "memory": 24,
                          "command": ["sh", "-c",
                                      "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"]}])
    arn = run_fargate(d, fam)
    t = wait_status(d, arn, "STOPPED", timeout=60)
    c = ctr(t, "hog")
    assert c["reason"] == "OutOfMemoryError: Container killed due to memory usage", c
    assert c["exitCode"] == 137
    assert "survived" not in agent_log(d, arn, "hog")


def test_bad_image_reference(farm):
    d = farm
    fam = fargate_td(d, [{"name": "main", "image": f"127.0.0.1:{d.port}/bb:no-such-tag"}])
    arn = run_fargate(d, fam)
    t = wait_status(d, arn, "STOPPED", timeout=60)
    assert t["stopCode"] == "TaskFailedToStart"
    reason = ctr(t, "main")["reason"]
    assert reason.startswith("CannotPullContainerError:"), reason
    assert "no-such-tag" in reason
    assert "exitCode" not in ctr(t, "main")


def test_tar_slip_layer_refused(farm, tmp_path):
    d = farm
    victim = tmp_path / "victim"
    layer = _tar(busybox_entries() + [(f"../../../../../../..{victim}", "file", b"owned\n")])
    im = OciImage([layer])
    d.client("ecr").create_repository(repositoryName="slip")
    Registry(d, d.password).push_image("slip", "1", im)
    fam = fargate_td(d, [{"name": "main", "image": f"127.0.0.1:{d.port}/slip:1"}])
    arn = run_fargate(d, fam)
    t = wait_status(d, arn, "STOPPED", timeout=60)
    reason = ctr(t, "main")["reason"]
    assert reason.startswith("CannotPullContainerError:") and "escapes" in reason, reason
    assert not victim.exists()


# ---- restarts ----------------------------------------------------------------------------

def children(pid):
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:  # a thread that just ended
            pass
    return out


def local_agent_pid(d):
    for p in children(d.proc.pid):
        try:
            if os.readlink(f"/proc/{p}/exe").endswith("/wharf-agent"):
                return p
        except OSError:  # a zombie being reaped
            pass
    return None


def runc_status(data, runtime_id):
    p = subprocess.run(["runc", "--root", str(Path(data) / "runc"), "state", runtime_id],
                       capture_output=True, text=True)
    return json.loads(p.stdout)["status"] if p.returncode == 0 else None


def test_local_agent_kill9_restarted_container_survives(farm):
    d = farm
    fam = fargate_td(d, [{"name": "main", "command": ["sh", "-c", "sleep 6; exit 7"]}])
    arn = run_fargate(d, fam)
    t = wait_status(d, arn, "RUNNING")
    rid = ctr(t, "main")["runtimeId"]
    pid = wait_for(lambda: local_agent_pid(d), timeout=10, what="the local agent's pid")
    os.kill(pid, signal.SIGKILL)
    assert runc_status(d.data_dir / "agent", rid) == "running"
    new = wait_for(lambda: (lambda p: p if p and p != pid else None)(local_agent_pid(d)),
                   timeout=15, what="wharfd restarting its agent")
    assert new != pid
    t = wait_status(d, arn, "STOPPED", timeout=60)
    assert ctr(t, "main")["exitCode"] == 7
    assert t["stopCode"] == "EssentialContainerExited"


def test_wharfd_restart_keeps_containers(farm):
    d = farm
    fam = fargate_td(d, [{"name": "main", "command": ["sh", "-c", SLEEPER]}])
    arn = run_fargate(d, fam)
    rid = ctr(wait_status(d, arn, "RUNNING"), "main")["runtimeId"]
    d.stop(timeout=30)
    assert runc_status(d.data_dir / "agent", rid) == "running"
    d.start()
    d.ecs = d.client("ecs")
    assert describe(d, arn)["lastStatus"] == "RUNNING"
    d.ecs.stop_task(cluster=d.cluster, task=arn)
    t = wait_status(d, arn, "STOPPED", timeout=60)
    assert ctr(t, "main")["exitCode"] == 0


# ---- EC2 agents --------------------------------------------------------------------------

class Agent:
    """A wharf-agent process of ours (--capacity ec2) with its own data dir."""

    def __init__(self, d, cluster, data, az):
        self.d, self.cluster, self.data, self.az = d, cluster, Path(data), az
        self.proc = None
        self.log = self.data.parent / f"{self.data.name}.log"

    def start(self):
        self.data.mkdir(parents=True, exist_ok=True)
        argv = [AGENT, "--endpoint", self.d.url, "--cluster", self.cluster, "--capacity", "ec2",
                "--credentials", str(self.d.data_dir / "credentials"), "--data-dir",
                str(self.data), "--availability-zone", self.az, "--attribute", "team=e2e",
                "--memory-reserve", "512"]
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(argv, stdout=f, stderr=f, stdin=subprocess.DEVNULL)

    def arn(self):
        p = self.data / "instance.json"
        return json.loads(p.read_text())["containerInstanceArn"] if p.exists() else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(20) == 0, self.log.read_text()[-2000:]
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        for marker in SANITIZER_MARKERS:
            assert marker not in text, f"sanitizer report in {self.log}:\n{text[-5000:]}"


def test_two_ec2_agents_placement_and_restart(farm, tmp_path):
    d = farm
    cluster = uniq("ec2")
    d.ecs.create_cluster(clusterName=cluster)
    agents = [Agent(d, cluster, tmp_path / f"a{i}", f"us-east-1{'ab'[i]}") for i in range(2)]
    try:
        for a in agents:
            a.start()
        arns = [wait_for(a.arn, timeout=20, what="registration") for a in agents]
        ci = d.ecs.describe_container_instances(cluster=cluster, containerInstances=arns)
        for inst in ci["containerInstances"]:
            assert inst["agentConnected"] and inst["status"] == "ACTIVE"
            res = {r["name"]: r for r in inst["registeredResources"]}
            assert res["CPU"]["integerValue"] == os.cpu_count() * 1024
            assert "51678" in res["PORTS"]["stringSetValue"]
            attrs = {a["name"]: a.get("value") for a in inst["attributes"]}
            assert attrs["ecs.os-type"] == "linux" and attrs["team"] == "e2e"
            assert attrs["ecs.cpu-architecture"] in ("x86_64", "arm64")
            assert "ecs.capability.container-health-check" in attrs
        fam = uniq("ec2fam")
        d.ecs.register_task_definition(family=fam, containerDefinitions=[
            {"name": "main", "image": d.image, "memory": 32, "command": ["sh", "-c", SLEEPER]}])
        run = d.ecs.run_task(cluster=cluster, taskDefinition=fam, count=4,
                             placementStrategy=[{"type": "spread", "field": "instanceId"}])
        assert run["failures"] == []
        tasks = [t["taskArn"] for t in run["tasks"]]
        placed = sorted(t["containerInstanceArn"] for t in run["tasks"])
        assert placed == sorted(arns * 2)
        d.cli("ecs", "wait", "tasks-running", "--cluster", cluster, "--tasks", *tasks)
        # an agent killed while its container exits finds out and reports it after a restart
        fam2 = uniq("ec2exit")
        d.ecs.register_task_definition(family=fam2, containerDefinitions=[
            {"name": "main", "image": d.image, "memory": 32,
             "command": ["sh", "-c", "sleep 3; exit 9"]}])
        a0 = agents[0]
        run = d.ecs.run_task(cluster=cluster, taskDefinition=fam2, placementConstraints=[
            {"type": "memberOf", "expression": f"attribute:ecs.availability-zone == {a0.az}"}])
        late = run["tasks"][0]["taskArn"]
        assert run["tasks"][0]["containerInstanceArn"] == arns[0]
        rid = ctr(wait_status(d, late, "RUNNING", cluster=cluster), "main")["runtimeId"]
        a0.kill9()
        wait_for(lambda: runc_status(a0.data, rid) in (None, "stopped"), timeout=20,
                 what="the container's exit while its agent is down")
        assert describe(d, late, cluster)["lastStatus"] == "RUNNING"  # nobody told wharfd yet
        a0.start()
        t = wait_status(d, late, "STOPPED", timeout=60, cluster=cluster)
        assert ctr(t, "main")["exitCode"] == 9
        assert wait_for(a0.arn) == arns[0]  # re-registered with the same ARN
        for arn in tasks:
            d.ecs.stop_task(cluster=cluster, task=arn)
        d.cli("ecs", "wait", "tasks-stopped", "--cluster", cluster, "--tasks", *tasks)
        for arn in tasks:
            assert ctr(describe(d, arn, cluster), "main")["exitCode"] == 0
    finally:
        for a in agents:
            a.stop()
            purge_agent_dir(a.data)
