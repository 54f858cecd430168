"""The daemon itself: --help, /health, /metrics, per-request log lines, clean shutdown."""
import re
import signal
import subprocess
import threading

import pytest

from conftest import uniq, wait_for


def test_help_documents_every_flag(wharfd_binary, tmp_path):
    p = subprocess.run([wharfd_binary, "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p
    out = p.stdout
    for flag in ("--listen", "--data-dir", "--region", "--account-id", "--help"):
        assert flag in out, f"--help does not document {flag}:\n{out}"
    assert "HOST:PORT" in out
    # Every flag --help names is one the parser knows. (A trailing bad flag makes sure
    # nothing starts: the run ends at the parser either way.)
    for flag in sorted(set(re.findall(r"(--[a-z][a-z-]+)", out))):
        q = subprocess.run([wharfd_binary, flag, "x", "--no-such-flag-zz"], capture_output=True,
                           text=True, timeout=10, cwd=tmp_path)
        assert f"unrecognized option '{flag}'" not in q.stderr, (flag, q.stderr)
        assert f"unrecognized option '{flag}=" not in q.stderr, (flag, q.stderr)


def test_unknown_flag_fails_with_usage(wharfd_binary, tmp_path):
    p = subprocess.run([wharfd_binary, "--no-such-flag"], capture_output=True, text=True,
                       timeout=10, cwd=tmp_path)
    assert p.returncode != 0
    assert "--listen" in p.stderr, p.stderr


@pytest.mark.parametrize("args", [["--listen", "nonsense"], ["--account-id", "12345"],
                                  ["--listen", "127.0.0.1:99999"]])
def test_bad_flag_values_refused(wharfd_binary, tmp_path, args):
    p = subprocess.run([wharfd_binary, "--data-dir", str(tmp_path / "d"), *args],
                       capture_output=True, text=True, timeout=10, cwd=tmp_path)
    assert p.returncode != 0, p
    assert p.stderr.strip(), "no message for a bad flag value"


def test_health(wharfd):
    r = wharfd.get("/health")
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["status"] == "ok"


def metric(text, name, **labels):
    """Value of one sample in Prometheus text, or 0 when absent."""
    want = {k: str(v) for k, v in labels.items()}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(got.get(k) == v for k, v in want.items()):
            return float(m.group(4))
    return 0.0


def test_metrics(wharfd, ecs):
    def scrape():
        r = wharfd.get("/metrics")
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/plain")
        return r.body.decode()

    before = scrape()
    n0 = metric(before, "wharf_requests_total", action="ListClusters", status="200")
    e0 = metric(before, "wharf_requests_total", action="DescribeTaskDefinition", status="400")
    c0 = metric(before, "wharf_request_duration_seconds_count")
    for _ in range(3):
        ecs.list_clusters()
    try:
        ecs.describe_task_definition(taskDefinition=uniq("nope"))
    except ecs.exceptions.ClientError:
        pass
    # Requests are counted when they complete, just after the answer is sent.
    def counted():
        t = scrape()
        done = (metric(t, "wharf_requests_total", action="ListClusters", status="200") >= n0 + 3
                and metric(t, "wharf_requests_total", action="DescribeTaskDefinition",
                           status="400") >= e0 + 1)
        return t if done else None

    text = wait_for(counted, what="the requests counted")
    assert metric(text, "wharf_requests_total", action="ListClusters", status="200") == n0 + 3
    assert metric(text, "wharf_requests_total", action="DescribeTaskDefinition",
                  status="400") == e0 + 1
    assert "# TYPE wharf_requests_total counter" in text
    assert "# TYPE wharf_request_duration_seconds histogram" in text
    buckets = [(m.group(1), float(m.group(2))) for m in re.finditer(
        r'^wharf_request_duration_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+(\S+)$', text, re.M)]
    assert len(buckets) >= 5, buckets
    assert buckets[-1][0] == "+Inf"
    values = [v for _, v in buckets]
    assert values == sorted(values), "histogram buckets must be cumulative"
    count = metric(text, "wharf_request_duration_seconds_count")
    assert values[-1] == count
    assert count >= c0 + 4
    assert metric(text, "wharf_request_duration_seconds_sum") > 0


def test_one_log_line_per_request(wharfd):
    name = uniq("log")
    r = wharfd.call("CreateCluster", {"clusterName": name})
    assert r.status == 200
    rid = r.request_id
    line = wait_for(lambda: next((l for l in wharfd.stderr_text().splitlines() if rid in l), None),
                    what=f"log line with request id {rid}")
    assert "CreateCluster" in line, line
    assert "200" in line, line
    assert re.search(r"latency|\d+(\.\d+)?\s*ms", line), line
    assert sum(rid in l for l in wharfd.stderr_text().splitlines()) == 1
    # Errors are logged too, with their status.
    r = wharfd.call("DescribeTaskDefinition", {"taskDefinition": uniq("nope")})
    assert r.status == 400
    line = wait_for(lambda: next((l for l in wharfd.stderr_text().splitlines()
                                  if r.request_id in l), None), what="error log line")
    assert "DescribeTaskDefinition" in line and "400" in line, line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_zero(make_wharfd, sig):
    d = make_wharfd()
    d.client().create_cluster(clusterName="x")
    assert d.stop(sig) == 0


def test_sigterm_during_load_finishes_cleanly(make_wharfd):
    """SIGTERM under load: requests either complete (200) or are refused at the connection;
    none gets a server error; exit 0; everything acknowledged is there after a restart."""
    d = make_wharfd()
    fam = uniq("load")
    clients = [d.client(cached=False) for _ in range(4)]
    results, stop = [], threading.Event()

    def worker(c):
        while not stop.is_set():
            try:
                c.register_task_definition(family=fam, containerDefinitions=[
                    {"name": "a", "image": "b", "memory": 64}])
                results.append("ok")
            except c.exceptions.ClientError as e:
                results.append(("error", e.response["Error"]["Code"],
                                e.response["ResponseMetadata"]["HTTPStatusCode"]))
            except Exception:  # connection refused or reset once the listener is gone
                results.append("down")
                return

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: results.count("ok") >= 40, timeout=20, what="some load")
    finally:
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(15)
        finally:
            stop.set()
            for t in threads:
                t.join(10)
    d.proc = None
    d.assert_no_sanitizer_report()
    assert rc == 0, d.stderr_text()[-2000:]
    errors = [r for r in results if isinstance(r, tuple)]
    assert errors == [], errors
    acked = results.count("ok")
    d.start()
    c = d.client()
    arns = []
    token = None
    while True:
        kw = {"familyPrefix": fam, "maxResults": 100}
        if token:
            kw["nextToken"] = token
        page = c.list_task_definitions(**kw)
        arns += page["taskDefinitionArns"]
        token = page.get("nextToken")
        if not token:
            break
    revs = sorted(int(a.rsplit(":", 1)[1]) for a in arns)
    assert len(revs) >= acked, (len(revs), acked)
    assert revs == list(range(1, len(revs) + 1))
