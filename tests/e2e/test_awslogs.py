"""The awslogs log driver (issue 7): real containers on wharfd's local Fargate capacity write
to stdout/stderr, the agent ships each line to CloudWatch Logs (wharfd's Logs API), and users
read them with `aws logs get-log-events` and `aws logs tail`, as on ECS.

Needs what tests/e2e/test_agent.py needs (root, runc, skopeo, busybox-static) and
reuses its fixtures' helpers; skipped with the reason otherwise. Run:
WHARFD=build/wharfd /usr/bin/python3 -m pytest tests/e2e/test_awslogs.py"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import _make, uniq, wait_for
from registry_helpers import login_password, skopeo, write_layout
from test_agent import (OciImage, _missing, _tar, agent_log, busybox_entries, ctr, describe,
                        fargate_instance, local_agent_pid, purge_agent_dir, run_fargate,
                        wait_status)

pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")

# seq and usleep on top of test_agent's busybox applets.
EXTRA_APPLETS = ["seq", "usleep"]
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """wharfd with its local Fargate capacity and a busybox image in its registry."""
    d = _make(tmp_path_factory.mktemp("awslogs"), "awslogs")
    d.start()
    d.client("ecr").create_repository(repositoryName="bb")
    password = login_password(d)
    entries = busybox_entries() + [(f"bin/{a}", "link", "busybox") for a in EXTRA_APPLETS]
    layout = write_layout(tmp_path_factory.mktemp("layout"), "1", [OciImage([_tar(entries)])])
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
           f"oci:{layout}:1", f"docker://127.0.0.1:{d.port}/bb:1")
    d.image = f"127.0.0.1:{d.port}/bb:1"
    d.ecs = d.client("ecs")
    d.logs = d.client("logs")
    d.cluster = uniq("awslogs")
    d.ecs.create_cluster(clusterName=d.cluster)
    wait_for(lambda: fargate_instance(d), timeout=30, what="the local agent's registration")
    yield d
    if d.running:
        d.stop(timeout=30)
    purge_agent_dir(d.data_dir / "agent")


def awslogs(group, prefix="app", create="true", region="us-east-1"):
    opts = {"awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": prefix}
    if create is not None:
        opts["awslogs-create-group"] = create
    return {"logDriver": "awslogs", "options": opts}


def task_def(d, script, log_configuration=None, name="main"):
    family = uniq("logs")
    c = {"name": name, "image": d.image, "essential": True, "command": ["sh", "-c", script]}
    if log_configuration:
        c["logConfiguration"] = log_configuration
    # ECS (and wharfd) want an execution role for awslogs on Fargate: it pulls and ships.
    d.ecs.register_task_definition(family=family, networkMode="awsvpc",
                                   requiresCompatibilities=["FARGATE"], cpu="256",
                                   memory="512", containerDefinitions=[c],
                                   executionRoleArn=EXECUTION_ROLE)
    return family


def stream_of(arn, prefix="app", name="main"):
    return f"{prefix}/{name}/{arn.rsplit('/', 1)[1]}"


def all_events(d, group, stream):
    """Every event of a stream, oldest first, following nextForwardToken to the end."""
    got, token = [], None
    while True:
        kw = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        page = d.logs.get_log_events(**kw)
        got += page["events"]
        if page["nextForwardToken"] == token:
            return got
        token = page["nextForwardToken"]


def cli_text(d, *args, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(d.data_dir / "credentials"),
               AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", d.url, *args], env=env,
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


def shipped(d, group, stream, n):
    try:
        return len(all_events(d, group, stream)) >= n
    except d.logs.exceptions.ResourceNotFoundException:
        return False


def test_numbered_lines_get_log_events_and_tail(farm):
    d = farm
    group = uniq("/ecs/numbers")
    fam = task_def(d, "for i in $(seq 1 500); do echo line $i; done; echo to-stderr >&2; sleep 1",
                   awslogs(group))
    t0 = time.time()
    arn = run_fargate(d, fam)
    t = wait_status(d, arn, "STOPPED", timeout=90)
    assert ctr(t, "main")["exitCode"] == 0, t
    stream = stream_of(arn)
    wait_for(lambda: shipped(d, group, stream, 501), timeout=15, interval=0.2,
             what="the task's 501 lines in CloudWatch")
    want = [f"line {i}" for i in range(1, 501)] + ["to-stderr"]
    # aws logs get-log-events: every line once, in order, stamped with the time it was written.
    out = d.cli("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream,
                "--start-from-head")
    assert [e["message"] for e in out["events"]] == want
    stamps = [e["timestamp"] for e in out["events"]]
    assert stamps == sorted(stamps)
    assert t0 * 1000 - 1000 <= stamps[0] and stamps[-1] <= time.time() * 1000
    assert all(e["timestamp"] <= e["ingestionTime"] for e in out["events"])
    # aws logs tail
    text = cli_text(d, "logs", "tail", group, "--since", "10m", "--format", "short")
    lines = [l.split(" ", 1)[1] for l in text.splitlines() if l.strip()]
    assert lines == want
    text = cli_text(d, "logs", "tail", group, "--since", "10m")
    assert all(f" {stream} " in l for l in text.splitlines() if l.strip())
    # The stream is named as ECS names it; the group was created (awslogs-create-group).
    streams = d.logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [stream]
    # The record of the shipping is marked done once the container is gone.
    rec = d.data_dir / "agent" / "logship" / f"{arn.rsplit('/', 1)[1]}-main.json"
    wait_for(lambda: json.loads(rec.read_text()).get("done"), timeout=10,
             what="the shipper to finish")


def test_lines_arrive_within_about_a_second(farm):
    d = farm
    group = uniq("/ecs/prompt")
    fam = task_def(d, "echo first; sleep 3; echo second; sleep 1000", awslogs(group))
    arn = run_fargate(d, fam)
    stream = stream_of(arn)
    wait_status(d, arn, "RUNNING", timeout=60)
    for word in ("first", "second"):
        wait_for(lambda: f" {word}" in agent_log(d, arn, "main"), timeout=10,
                 what=f"'{word}' in the host file")
        written = time.monotonic()
        wait_for(lambda: word in [e["message"] for e in
                                  (all_events(d, group, stream) if shipped(d, group, stream, 1)
                                   else [])],
                 timeout=5, interval=0.05, what=f"'{word}' in CloudWatch")
        took = time.monotonic() - written
        assert took < 2.0, f"'{word}' took {took:.2f} s to reach CloudWatch"
    # aws logs tail --follow shows what the running container prints.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(d.data_dir / "credentials"),
               AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    p = subprocess.Popen(["/usr/bin/aws", "--endpoint-url", d.url, "logs", "tail", group,
                          "--follow", "--since", "10m", "--format", "short"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        got = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "second" not in got:
            line = p.stdout.readline()
            if line.strip():
                got.append(line.strip().split(" ", 1)[1])
        assert got[:2] == ["first", "second"], got
    finally:
        p.kill()
        p.wait()
    d.ecs.stop_task(cluster=d.cluster, task=arn)
    wait_status(d, arn, "STOPPED")


def test_long_lines_split_and_partial_lines(farm):
    d = farm
    group = uniq("/ecs/long")
    script = ("head -c 300000 /dev/zero | tr '\\0' a; echo; "
              "printf 'no newline yet '; sleep 1; echo 'now it ends'; echo; "
              "echo ''; echo after-empty; printf 'the last words'")
    arn = run_fargate(d, task_def(d, script, awslogs(group)))
    wait_status(d, arn, "STOPPED", timeout=90)
    stream = stream_of(arn)
    wait_for(lambda: shipped(d, group, stream, 5), timeout=15, what="the events")
    ev = all_events(d, group, stream)
    msgs = [e["message"] for e in ev]
    # 300,000 bytes: 262,118 (262,144 less the 26 bytes PutLogEvents counts per event) + rest.
    assert [len(m) for m in msgs[:2]] == [262118, 300000 - 262118]
    assert set(msgs[0] + msgs[1]) == {"a"}
    assert msgs[0 + 2:] == ["no newline yet now it ends", "after-empty", "the last words"]
    assert ev[0]["timestamp"] == ev[1]["timestamp"]


def test_agent_kill9_loses_and_repeats_nothing(farm):
    d = farm
    group = uniq("/ecs/kill9")
    script = "i=1; while [ $i -le 500 ]; do echo line $i; i=$((i+1)); usleep 10000; done"
    arn = run_fargate(d, task_def(d, script, awslogs(group)))
    wait_status(d, arn, "RUNNING", timeout=60)
    stream = stream_of(arn)
    for _ in range(2):  # twice, while lines are being written and shipped
        wait_for(lambda: shipped(d, group, stream, 1), timeout=10, what="the first lines shipped")
        time.sleep(1.0)
        pid = wait_for(lambda: local_agent_pid(d), timeout=20, what="the local agent's pid")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: (lambda p: p if p and p != pid else None)(local_agent_pid(d)),
                 timeout=20, what="wharfd restarting its agent")
    t = wait_status(d, arn, "STOPPED", timeout=90)
    assert ctr(t, "main")["exitCode"] == 0
    wait_for(lambda: shipped(d, group, stream, 500), timeout=20, what="all 500 lines")
    time.sleep(1)  # anything repeated late would show now
    msgs = [e["message"] for e in all_events(d, group, stream)]
    assert msgs == [f"line {i}" for i in range(1, 501)], \
        (len(msgs), len(set(msgs)), sorted(set(f"line {i}" for i in range(1, 501)) - set(msgs))[:5])


def test_retention_deletes_old_events(farm):
    d = farm
    group = uniq("/ecs/retention")
    arn = run_fargate(d, task_def(d, "echo fresh line", awslogs(group)))
    wait_status(d, arn, "STOPPED", timeout=60)
    stream = stream_of(arn)
    wait_for(lambda: shipped(d, group, stream, 1), timeout=15, what="the line")
    now = int(time.time() * 1000)
    d.logs.create_log_stream(logGroupName=group, logStreamName="old")
    d.logs.put_log_events(logGroupName=group, logStreamName="old", logEvents=[
        {"timestamp": now - 3 * 86400000, "message": "three days old"}])
    d.logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    assert all_events(d, group, "old") == []
    assert [e["message"] for e in all_events(d, group, stream)] == ["fresh line"]
    out = d.cli("logs", "filter-log-events", "--log-group-name", group)
    assert [e["message"] for e in out["events"]] == ["fresh line"]


def test_without_awslogs_logs_stay_on_the_host(farm):
    d = farm
    word = uniq("host-only")
    arn = run_fargate(d, task_def(d, f"echo {word}"))
    wait_status(d, arn, "STOPPED", timeout=60)
    assert word in agent_log(d, arn, "main")
    tid = arn.rsplit("/", 1)[1]
    assert not list((d.data_dir / "agent" / "logship").glob(f"{tid}-*"))


def test_missing_group_without_create_group_fails_the_task(farm):
    d = farm
    group = uniq("/ecs/absent")
    arn = run_fargate(d, task_def(d, "echo never", awslogs(group, create=None)))
    t = wait_status(d, arn, "STOPPED", timeout=60)
    assert t["stopCode"] == "TaskFailedToStart", t
    reason = ctr(t, "main").get("reason", "")
    assert "ResourceNotFoundException" in reason and "log group" in reason, reason
    assert "exitCode" not in ctr(t, "main")
    # With the group made first (and no create-group), the same task ships.
    d.logs.create_log_group(logGroupName=group)
    arn = run_fargate(d, task_def(d, "echo now it works", awslogs(group, create=None)))
    wait_status(d, arn, "STOPPED", timeout=60)
    wait_for(lambda: shipped(d, group, stream_of(arn), 1), timeout=15, what="the line")
