"""Task networking (issue 5) end to end: wharfd with its local Fargate capacity (awsvpc) and an
EC2 wharf-agent of ours (bridge, host, none), real containers from a busybox-static image with
httpd, reached the way ECS users reach them: the task's own address (awsvpc), host ports
(bridge: static, dynamic, udp), the host's own ports (host). Then DescribeTasks' ENI-like
attachment and networkBindings, placement's RESOURCE:PORTS, the agent's own port conflict
check, an agent restart, and that nothing is left once the tasks stopped.

Needs root, runc, skopeo, busybox-static, the CNI plugins (containernetworking-plugins),
iptables and gcc (a static udp echo server for the image); skipped with the reason otherwise.
Run: WHARFD=build/wharfd /usr/bin/python3 -m pytest tests/e2e/test_network.py"""
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import _make, uniq, wait_for
from net_helpers import census, leases, purge_net, subnet_pool
from registry_helpers import BUSYBOX, login_password, skopeo, write_layout
from test_agent import (AGENT, Agent, OciImage, _missing as _agent_missing, _tar,
                        purge_agent_dir)

APPLETS = ["sh", "sleep", "httpd", "wget", "ip", "awk", "cat", "echo", "grep", "wc", "head",
           "true", "false", "ls", "mkdir", "hostname"]
UECHO_C = r"""
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    if (argc < 2 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return 1;
    for (;;) {
        char b[512];
        struct sockaddr_in f;
        socklen_t fl = sizeof(f);
        int n = recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&f, &fl);
        if (n > 0)
            sendto(s, b, n, 0, (struct sockaddr *)&f, fl);
    }
}
"""
WWW = "net-e2e-hello"
SLEEPER = "trap 'exit 0' TERM; sleep 1000 & wait"


def _missing():
    why = _agent_missing()
    if why:
        return why
    for p in ("/usr/lib/cni/bridge", "/usr/lib/cni/portmap", "/usr/lib/cni/firewall",
              "/usr/lib/cni/host-local"):
        if not os.access(p, os.X_OK):
            return f"{p} is missing (Debian package containernetworking-plugins)"
    if not shutil.which("iptables", path="/usr/sbin:/sbin:/usr/bin:/bin"):
        return "iptables is not installed"
    if not shutil.which("gcc"):
        return "gcc is needed to build the image's udp echo server"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


def image_entries(tmp):
    src = tmp / "uecho.c"
    src.write_text(UECHO_C)
    subprocess.run(["gcc", "-static", "-O2", "-o", str(tmp / "uecho"), str(src)], check=True)
    entries = [("bin", "dir", None), ("bin/busybox", "exe", Path(BUSYBOX).read_bytes()),
               ("bin/uecho", "exe", (tmp / "uecho").read_bytes()),
               ("etc", "dir", None), ("tmp", "dir", None), ("www", "dir", None),
               ("www/index.html", "file", WWW.encode() + b"\n"),
               ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"),
               ("etc/group", "file", b"root:x:0:\n")]
    return entries + [(f"bin/{a}", "link", "busybox") for a in APPLETS]


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def http_get(host, port, path="/index.html", timeout=3):
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as r:
        return r.read().decode()


def answers(host, port, timeout=20):
    def ok():
        try:
            return WWW in http_get(host, port)
        except (OSError, urllib.error.URLError):
            return False
    return wait_for(ok, timeout=timeout, interval=0.2, what=f"http://{host}:{port}/")


def udp_echo(host, port, timeout=2.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(b"ping", (host, port))
        return s.recvfrom(64)[0]


def host_ip():
    out = subprocess.run(["ip", "-4", "-o", "route", "get", "1.1.1.1"], capture_output=True,
                         text=True).stdout.split()
    return out[out.index("src") + 1] if "src" in out else None


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """wharfd (own subnet pool) with its local Fargate agent, an EC2 agent in a cluster, an
    image with busybox httpd and a udp echo server in wharfd's registry."""
    pool = subnet_pool()
    d = _make(tmp_path_factory.mktemp("net"), "net", extra_args=["--task-subnet-pool", pool])
    d.start()
    d.pool = pool
    ecr = d.client("ecr")
    ecr.create_repository(repositoryName="web")
    password = login_password(d)
    layout = write_layout(tmp_path_factory.mktemp("layout"), "1",
                          [OciImage([_tar(image_entries(tmp_path_factory.mktemp("img")))])])
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
           f"oci:{layout}:1", f"docker://127.0.0.1:{d.port}/web:1")
    d.image = f"127.0.0.1:{d.port}/web:1"
    d.ecs = d.client("ecs")
    d.cluster = uniq("net")
    d.ecs.create_cluster(clusterName=d.cluster)
    d.fargate_data = d.data_dir / "agent"
    wait_for(lambda: (d.fargate_data / "instance.json").exists(), timeout=30,
             what="the local agent's registration")
    d.agent = Agent(d, d.cluster, tmp_path_factory.mktemp("ec2") / "a0", "us-east-1a")
    d.agent.start()
    d.instance = wait_for(d.agent.arn, timeout=30, what="the EC2 agent's registration")
    inst = d.ecs.describe_container_instances(cluster=d.cluster,
                                              containerInstances=[d.instance])
    attrs = {a["name"]: a.get("value") for a in inst["containerInstances"][0]["attributes"]}
    d.ec2_subnets = [attrs["wharf.subnet.awsvpc"], attrs["wharf.subnet.bridge"]]
    # The local agent registered first: the pool's first pair.
    base = ipaddress.IPv4Network(pool).network_address
    d.fargate_subnets = [f"{base}/24", f"{base + 256}/24"]
    yield d
    d.agent.stop()
    if d.running:
        d.stop(timeout=30)
    for data in (d.agent.data, d.fargate_data):
        purge_agent_dir(data)
        purge_net(data)


def describe(d, arn):
    return d.ecs.describe_tasks(cluster=d.cluster, tasks=[arn])["tasks"][0]


def wait_status(d, arn, status, timeout=90):
    def get():
        t = describe(d, arn)
        if t["lastStatus"] == "STOPPED" and status != "STOPPED":
            raise AssertionError(f"{arn} stopped: {t.get('stoppedReason')} "
                                 f"{[c.get('reason') for c in t['containers']]}")
        return t if t["lastStatus"] == status else None
    return wait_for(get, timeout=timeout, interval=0.2, what=f"{arn} {status}")


def stop(d, *arns):
    for arn in arns:
        d.ecs.stop_task(cluster=d.cluster, task=arn)
    for arn in arns:
        wait_status(d, arn, "STOPPED")


def ctr(task, name):
    return next(c for c in task["containers"] if c["name"] == name)


def agent_log(data, arn, name):
    p = Path(data) / "logs" / arn.rsplit("/", 1)[1] / f"{name}.log"
    return p.read_text() if p.exists() else ""


def ec2_task(d, containers, mode="bridge", **run):
    fam = uniq("netfam")
    for c in containers:
        c.setdefault("image", d.image)
        c.setdefault("memory", 32)
    d.ecs.register_task_definition(family=fam, networkMode=mode,
                                   containerDefinitions=containers)
    r = d.ecs.run_task(cluster=d.cluster, taskDefinition=fam, **run)
    return r


def settled_census(data, subnets):
    """The census once the agent finished its teardowns."""
    want = {"netns": 0, "leases": 0, "rules": 0, "records": 0}
    wait_for(lambda: census(data, subnets) == want, timeout=30, interval=0.5,
             what=f"no networking left by {data}")


# ---- awsvpc ------------------------------------------------------------------------------

def test_awsvpc_task_ip_localhost_and_attachment(net):
    d = net
    fam = uniq("vpc")
    probe = ("gw=$(ip route | awk '/default/ {print $3}'); echo gw=$gw; "
             "wget -q -O - http://127.0.0.1:8080/index.html; "
             f"wget -q -O - http://$gw:{d.port}/health && echo health-ok; "
             f"{SLEEPER}")
    d.ecs.register_task_definition(
        family=fam, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[
            {"name": "web", "image": d.image, "command": ["httpd", "-f", "-p", "8080", "-h", "/www"]},
            {"name": "probe", "image": d.image, "essential": False,
             "dependsOn": [{"containerName": "web", "condition": "START"}],
             "command": ["sh", "-c", "sleep 1; " + probe]}])
    r = d.ecs.run_task(cluster=d.cluster, taskDefinition=fam, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-e2e"]}})
    assert r["failures"] == []
    arn = r["tasks"][0]["taskArn"]
    t = wait_status(d, arn, "RUNNING")
    att = t["attachments"][0]
    assert att["type"] == "ElasticNetworkInterface" and att["status"] == "ATTACHED"
    det = wait_for(lambda: (lambda x: x if "privateIPv4Address" in x else None)(
        {e["name"]: e["value"] for e in describe(d, arn)["attachments"][0]["details"]}),
        timeout=10, what="the attachment's address")
    ip = det["privateIPv4Address"]
    assert ipaddress.IPv4Address(ip) in ipaddress.IPv4Network(d.fargate_subnets[0])
    assert det["subnetId"] == "subnet-e2e" and det["networkInterfaceId"].startswith("eni-")
    assert len(det["macAddress"].split(":")) == 6
    assert det["privateDnsName"] == f"ip-{ip.replace('.', '-')}.ec2.internal"
    t = describe(d, arn)
    for c in t["containers"]:
        assert c["networkInterfaces"] == [{"attachmentId": att["id"], "privateIpv4Address": ip}]
    # the task's own address, from the host
    answers(ip, 8080)
    # the second container reaches the first over localhost, and wharfd at the gateway
    wait_for(lambda: WWW in agent_log(d.fargate_data, arn, "probe"), timeout=20,
             what="the probe's localhost fetch")
    wait_for(lambda: "health-ok" in agent_log(d.fargate_data, arn, "probe"), timeout=20,
             what="wharfd reached from the task at its gateway")
    gw = str(ipaddress.IPv4Network(d.fargate_subnets[0]).network_address + 1)
    assert f"gw={gw}" in agent_log(d.fargate_data, arn, "probe")
    stop(d, arn)
    assert describe(d, arn)["attachments"][0]["status"] == "DELETED"
    with pytest.raises(OSError):
        http_get(ip, 8080, timeout=1)


# ---- bridge ------------------------------------------------------------------------------

def test_bridge_static_dynamic_and_udp_ports(net):
    d = net
    static = free_port()
    cmd = ("httpd -p 8080 -h /www && httpd -p 8081 -h /www && exec uecho 5353")
    r = ec2_task(d, [{"name": "web", "command": ["sh", "-c", cmd], "portMappings": [
        {"containerPort": 8080, "hostPort": static},
        {"containerPort": 8081},
        {"containerPort": 5353, "protocol": "udp"}]}])
    assert r["failures"] == []
    arn = r["tasks"][0]["taskArn"]
    t = wait_status(d, arn, "RUNNING")
    nb = wait_for(lambda: ctr(describe(d, arn), "web")["networkBindings"] or None, timeout=10,
                  what="networkBindings")
    by = {(b["containerPort"], b["protocol"]): b for b in nb}
    assert by[(8080, "tcp")]["hostPort"] == static
    dyn = by[(8081, "tcp")]["hostPort"]
    udp = by[(5353, "udp")]["hostPort"]
    assert 49153 <= dyn <= 65535 and 49153 <= udp <= 65535
    assert all(b["bindIP"] == "0.0.0.0" for b in nb)
    assert "attachments" not in t or t["attachments"] == []
    answers("127.0.0.1", static)
    answers("127.0.0.1", dyn)
    hip = host_ip()
    if hip:
        answers(hip, static)
    assert wait_for(lambda: udp_echo("127.0.0.1", udp) == b"ping", timeout=10,
                    what="the udp echo")
    # the dynamic ports are held on the instance now
    inst = d.ecs.describe_container_instances(cluster=d.cluster,
                                              containerInstances=[d.instance])
    rem = {x["name"]: x for x in inst["containerInstances"][0]["remainingResources"]}
    assert str(dyn) in rem["PORTS"]["stringSetValue"]
    assert str(static) in rem["PORTS"]["stringSetValue"]
    assert str(udp) in rem["PORTS_UDP"]["stringSetValue"]
    stop(d, arn)
    with pytest.raises(OSError):
        http_get("127.0.0.1", static, timeout=1)


def test_port_conflicts(net):
    d = net
    static = free_port()
    web = [{"name": "web", "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
            "portMappings": [{"containerPort": 80, "hostPort": static}]}]
    r = ec2_task(d, [dict(c) for c in web])
    arn = r["tasks"][0]["taskArn"]
    wait_status(d, arn, "RUNNING")
    # placement: the one instance already holds the port
    r2 = ec2_task(d, [dict(c) for c in web])
    assert r2["tasks"] == [] and {f["reason"] for f in r2["failures"]} == {"RESOURCE:PORTS"}
    stop(d, arn)
    # the agent: a host process holds the port wharfd does not know about
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        r3 = ec2_task(d, [{"name": "web", "command": ["sh", "-c", SLEEPER],
                           "portMappings": [{"containerPort": 80, "hostPort": busy}]}])
        arn3 = r3["tasks"][0]["taskArn"]
        t = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
            describe(d, arn3)), timeout=60, what="the conflicting task's stop")
    reasons = " ".join([t.get("stoppedReason", "")] + [c.get("reason", "") for c in t["containers"]])
    assert f"host port {busy}/tcp is already in use on this host" in reasons, reasons
    assert t["stopCode"] == "TaskFailedToStart"


def test_host_and_none_modes(net):
    d = net
    port = free_port()
    r = ec2_task(d, [{"name": "web", "command": ["httpd", "-f", "-p", str(port), "-h", "/www"],
                      "portMappings": [{"containerPort": port}]}], mode="host")
    arn = r["tasks"][0]["taskArn"]
    wait_status(d, arn, "RUNNING")
    answers("127.0.0.1", port)
    nb = wait_for(lambda: ctr(describe(d, arn), "web")["networkBindings"] or None, timeout=10,
                  what="networkBindings")
    assert nb == [{"bindIP": "0.0.0.0", "containerPort": port, "hostPort": port,
                   "protocol": "tcp"}]
    r2 = ec2_task(d, [{"name": "lonely", "command": [
        "sh", "-c", f"echo links=$(ip -o link | wc -l); {SLEEPER}"]}], mode="none")
    arn2 = r2["tasks"][0]["taskArn"]
    wait_status(d, arn2, "RUNNING")
    wait_for(lambda: "links=1" in agent_log(d.agent.data, arn2, "lonely"), timeout=20,
             what="a namespace with loopback only")
    stop(d, arn, arn2)


# ---- restarts and leaks ----------------------------------------------------------------------

def test_agent_restart_keeps_the_network(net):
    d = net
    r = ec2_task(d, [{"name": "web", "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
                      "portMappings": [{"containerPort": 80}]}])
    arn = r["tasks"][0]["taskArn"]
    wait_status(d, arn, "RUNNING")
    nb = wait_for(lambda: ctr(describe(d, arn), "web")["networkBindings"] or None, timeout=10,
                  what="networkBindings")
    port = nb[0]["hostPort"]
    answers("127.0.0.1", port)
    before = leases(d.agent.data)
    d.agent.kill9()
    answers("127.0.0.1", port)  # the network outlives the agent
    d.agent.start()
    wait_for(lambda: d.ecs.describe_container_instances(
        cluster=d.cluster, containerInstances=[d.instance])["containerInstances"][0][
        "agentConnected"], timeout=30, what="the agent back")
    time.sleep(2)  # its recovery and GC ran
    answers("127.0.0.1", port)
    assert leases(d.agent.data) == before  # neither lost nor duplicated
    assert ctr(describe(d, arn), "web")["networkBindings"] == nb
    stop(d, arn)


def test_nothing_left_after_the_tasks_stopped(net):
    d = net
    arns = []
    for mode in ("bridge", "bridge", "awsvpc"):
        r = ec2_task(d, [{"name": "web", "command": ["sh", "-c", SLEEPER],
                          "portMappings": [{"containerPort": 80}]}], mode=mode,
                     **({"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}}}
                        if mode == "awsvpc" else {}))
        assert r["failures"] == [], r["failures"]
        arns.append(r["tasks"][0]["taskArn"])
    for arn in arns:
        wait_status(d, arn, "RUNNING")
    held = census(d.agent.data, d.ec2_subnets)
    assert held["netns"] == 3 and held["leases"] == 3 and held["records"] == 3
    assert held["rules"] > 0
    stop(d, *arns)
    settled_census(d.agent.data, d.ec2_subnets)
    settled_census(d.fargate_data, d.fargate_subnets)
