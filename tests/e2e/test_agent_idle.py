"""An idle wharf-agent stays idle: CPU seconds it uses (user+system from /proc/PID/stat, not
wall-clock latency) over 5 s while wharfd works, is stopped (SIGSTOP), is gone (kill -9),
and while a server answers every PollDesiredTasks at once instead of parking it (as a wharfd
shutting down does). A retry or poll loop without a pause shows here as a CPU second or more.

Needs what tests/e2e/test_agent.py needs (root, runc; the agent beside wharfd). Run:
WHARFD=build/wharfd /usr/bin/python3 -m pytest tests/e2e/test_agent_idle.py"""
import json
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import test_agent as ta
import conftest
from conftest import _make, uniq, wait_for

pytestmark = pytest.mark.skipif(ta._missing() is not None, reason=ta._missing() or "")

WINDOW_S = 5
MAX_CPU_S = 0.5  # an idle agent uses about 0.01 s in 5 s; a tight loop a second or more
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_over(pid, seconds=WINDOW_S):
    c0 = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - c0


@pytest.fixture
def daemon(tmp_path):
    d = _make(tmp_path, "idle", extra_args=["--no-local-capacity"])
    d.start()
    yield d
    if d.proc and d.proc.poll() is None:
        os.kill(d.proc.pid, signal.SIGCONT)
        d.stop(timeout=30)


def test_agent_idle_while_wharfd_works_stops_and_goes(daemon, tmp_path):
    d = daemon
    cluster = uniq("idle")
    d.client("ecs").create_cluster(clusterName=cluster)
    agent = ta.Agent(d, cluster, tmp_path / "agent", "us-east-1a")
    try:
        agent.start()
        wait_for(agent.arn, timeout=20, what="the agent's registration")
        time.sleep(1)
        pid = agent.proc.pid
        used = {"wharfd up": cpu_over(pid)}
        os.kill(d.proc.pid, signal.SIGSTOP)
        used["wharfd stopped (SIGSTOP)"] = cpu_over(pid)
        os.kill(d.proc.pid, signal.SIGCONT)
        d.proc.kill()
        d.proc.wait()
        d.proc = None
        used["wharfd gone (kill -9)"] = cpu_over(pid)
        assert agent.proc.poll() is None, agent.log.read_text()[-2000:]
        busy = {k: round(v, 2) for k, v in used.items() if v > MAX_CPU_S}
        assert not busy, f"agent CPU seconds over {WINDOW_S} s above {MAX_CPU_S}: {busy}"
    finally:
        agent.stop()
        ta.purge_agent_dir(agent.data)


class AtOnce(BaseHTTPRequestHandler):
    """Registers the agent, answers PollDesiredTasks at once with the same version."""
    protocol_version = "HTTP/1.1"
    polls = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        out = {}
        if target.endswith(".RegisterContainerInstance"):
            out = {"containerInstance": {
                "containerInstanceArn": "arn:aws:ecs:us-east-1:123456789012:container-instance/"
                                        "idle/0123456789abcdef0123456789abcdef",
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/idle"}}
        elif target.endswith(".PollDesiredTasks"):
            type(self).polls += 1
            out = {"version": 7, "status": "ACTIVE", "tasks": []}
        body = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_agent_paces_polls_answered_at_once(tmp_path):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), AtOnce)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIAIDLETEST00000000\n"
                     "aws_secret_access_key = idle-test-secret\n")
    data, log = tmp_path / "agent", tmp_path / "agent.log"
    argv = [ta.AGENT, "--endpoint", f"http://127.0.0.1:{srv.server_port}", "--cluster", "idle",
            "--capacity", "ec2", "--credentials", str(creds), "--data-dir", str(data)]
    with open(log, "wb") as f:
        proc = subprocess.Popen(argv, stdout=f, stderr=f, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: AtOnce.polls > 0, timeout=20, what="the agent's first poll")
        n0 = AtOnce.polls
        used = cpu_over(proc.pid)
        polls = AtOnce.polls - n0
        # one poll a second (POLL_MIN_INTERVAL_S), give or take the window's edges
        assert polls <= 2 * WINDOW_S, f"{polls} polls in {WINDOW_S} s: a tight loop"
        assert used <= MAX_CPU_S, f"{used:.2f} CPU s in {WINDOW_S} s"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, log.read_text()[-2000:]
        srv.shutdown()
        ta.purge_agent_dir(data)


def test_agent_loads_no_pull_libraries():
    """The long-running agent links neither libcurl, libarchive nor libcrypto (they live in
    wharf-agent-pull, started per pull): what keeps its idle RSS at a few MB."""
    agent = os.path.join(os.path.dirname(os.path.realpath(conftest.WHARFD)), "wharf-agent")
    needed = subprocess.run(["readelf", "-d", agent], capture_output=True, text=True,
                            check=True).stdout
    libs = [l.split("[", 1)[1].rstrip("]") for l in needed.splitlines() if "(NEEDED)" in l]
    assert libs, needed
    heavy = [l for l in libs if l.startswith(("libcurl", "libarchive", "libcrypto", "libssl"))]
    assert heavy == [], f"wharf-agent links {heavy}"
    puller = agent + "-pull"
    assert os.access(puller, os.X_OK), f"{puller} is missing"
