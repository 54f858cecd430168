"""The CloudWatch Logs API subset (Logs_20140328) with boto3 and the AWS CLI v2."""
import os
import subprocess
import threading
import time

import pytest

from conftest import ACCOUNT, expect_error, uniq


@pytest.fixture
def logs(wharfd):
    return wharfd.client("logs")


def cli_text(wharfd, *args, timeout=60):
    """The AWS CLI v2 for commands whose output is text (aws logs tail)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(wharfd.data_dir / "credentials"),
               AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", wharfd.url, *args], env=env,
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p


def now_ms():
    return int(time.time() * 1000)


def make_stream(logs, group=None, stream="s1"):
    group = group or uniq("/wharf/test")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    return group, stream


def test_groups_create_describe_delete(logs, wharfd):
    prefix = uniq("/app")
    for n in ("a", "b", "c"):
        logs.create_log_group(logGroupName=f"{prefix}/{n}", tags={"team": n})
    expect_error("ResourceAlreadyExistsException", logs.create_log_group,
                 logGroupName=f"{prefix}/a")
    got = logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]
    assert [g["logGroupName"] for g in got] == [f"{prefix}/a", f"{prefix}/b", f"{prefix}/c"]
    g = got[0]
    assert g["arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{prefix}/a:*"
    # Older botocore models (Debian's) drop logGroupArn; newer ones must see it right.
    assert g.get("logGroupArn", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{prefix}/a") == \
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{prefix}/a"
    assert g["storedBytes"] == 0 and "retentionInDays" not in g
    assert abs(g["creationTime"] - now_ms()) < 60000
    # Pagination: one per page, no gaps, no repeats.
    seen, token = [], None
    while True:
        kw = {"logGroupNamePrefix": prefix, "limit": 1}
        if token:
            kw["nextToken"] = token
        page = logs.describe_log_groups(**kw)
        seen += [x["logGroupName"] for x in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == [f"{prefix}/a", f"{prefix}/b", f"{prefix}/c"]
    assert logs.list_tags_log_group(logGroupName=f"{prefix}/b")["tags"] == {"team": "b"}
    logs.delete_log_group(logGroupName=f"{prefix}/b")
    expect_error("ResourceNotFoundException", logs.delete_log_group, logGroupName=f"{prefix}/b")
    got = logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]
    assert [g["logGroupName"] for g in got] == [f"{prefix}/a", f"{prefix}/c"]


def test_region_isolation(wharfd):
    name = uniq("/iso")
    wharfd.client("logs", region="us-west-2").create_log_group(logGroupName=name)
    assert wharfd.client("logs", region="eu-west-1").describe_log_groups(
        logGroupNamePrefix=name)["logGroups"] == []


def test_streams_and_ordering(logs):
    group = uniq("/streams")
    logs.create_log_group(logGroupName=group)
    for n in ("b", "a", "c"):
        logs.create_log_stream(logGroupName=group, logStreamName=n)
    expect_error("ResourceAlreadyExistsException", logs.create_log_stream,
                 logGroupName=group, logStreamName="a")
    expect_error("ResourceNotFoundException", logs.create_log_stream,
                 logGroupName=group + "-missing", logStreamName="a")
    t = now_ms()
    # c gets the oldest event, b the newest.
    for i, n in enumerate(("c", "a", "b")):
        logs.put_log_events(logGroupName=group, logStreamName=n,
                            logEvents=[{"timestamp": t + i, "message": f"m{n}"}])
    names = lambda **kw: [s["logStreamName"] for s in
                          logs.describe_log_streams(logGroupName=group, **kw)["logStreams"]]
    assert names() == ["a", "b", "c"]
    assert names(descending=True) == ["c", "b", "a"]
    assert names(orderBy="LastEventTime") == ["c", "a", "b"]
    assert names(orderBy="LastEventTime", descending=True) == ["b", "a", "c"]
    assert names(logStreamNamePrefix="b") == ["b"]
    expect_error("InvalidParameterException", logs.describe_log_streams, logGroupName=group,
                 orderBy="LastEventTime", logStreamNamePrefix="a")
    s = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="a")["logStreams"][0]
    assert s["firstEventTimestamp"] == t + 1 and s["lastEventTimestamp"] == t + 1
    assert s["storedBytes"] == 2
    page1 = logs.describe_log_streams(logGroupName=group, limit=2)
    page2 = logs.describe_log_streams(logGroupName=group, limit=2, nextToken=page1["nextToken"])
    assert [x["logStreamName"] for x in page1["logStreams"] + page2["logStreams"]] == ["a", "b", "c"]
    assert "nextToken" not in page2
    logs.delete_log_stream(logGroupName=group, logStreamName="a")
    assert names() == ["b", "c"]


def test_put_and_get_events_tokens(logs):
    group, stream = make_stream(logs)
    t = now_ms() - 10000
    events = [{"timestamp": t + i, "message": f"line {i}"} for i in range(25)]
    r = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    assert "rejectedLogEventsInfo" not in r and r["nextSequenceToken"]
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                              limit=10)
    assert [e["message"] for e in got["events"]] == [f"line {i}" for i in range(10)]
    assert all(abs(e["ingestionTime"] - now_ms()) < 60000 for e in got["events"])
    nxt = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10,
                              nextToken=got["nextForwardToken"])
    assert [e["message"] for e in nxt["events"]] == [f"line {i}" for i in range(10, 20)]
    # Backward from there returns the first page again.
    back = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10,
                               nextToken=nxt["nextBackwardToken"])
    assert [e["message"] for e in back["events"]] == [f"line {i}" for i in range(10)]
    # Read to the end; then nothing new gives the same forward token back.
    end = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=100,
                              nextToken=nxt["nextForwardToken"])
    assert [e["message"] for e in end["events"]] == [f"line {i}" for i in range(20, 25)]
    again = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                nextToken=end["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == end["nextForwardToken"]
    # New events show up through the same token.
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": t + 100, "message": "late"}])
    more = logs.get_log_events(logGroupName=group, logStreamName=stream,
                               nextToken=end["nextForwardToken"])
    assert [e["message"] for e in more["events"]] == ["late"]
    # Without a token and startFromHead false: the newest events.
    tail = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=3)
    assert [e["message"] for e in tail["events"]] == ["line 23", "line 24", "late"]
    # Time window: start inclusive, end exclusive.
    win = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                              startTime=t + 5, endTime=t + 8)
    assert [e["message"] for e in win["events"]] == ["line 5", "line 6", "line 7"]
    expect_error("InvalidParameterException", logs.get_log_events, logGroupName=group,
                 logStreamName=stream, nextToken="f/nonsense")


def test_put_rules(logs):
    group, stream = make_stream(logs)
    t = now_ms()
    msg = expect_error("InvalidParameterException", logs.put_log_events, logGroupName=group,
                       logStreamName=stream, logEvents=[{"timestamp": t, "message": "b"},
                                                        {"timestamp": t - 1, "message": "a"}])
    assert "chronological order" in msg
    big = "x" * 200000
    msg = expect_error("InvalidParameterException", logs.put_log_events, logGroupName=group,
                       logStreamName=stream,
                       logEvents=[{"timestamp": t, "message": big} for _ in range(6)])
    assert "Upload too large" in msg
    r = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t - 15 * 86400000, "message": "old"},
        {"timestamp": t - 15 * 86400000 + 1, "message": "old2"}])
    assert r["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    r = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t, "message": "ok"}, {"timestamp": t + 3 * 3600000, "message": "future"}])
    assert r["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["ok"]
    expect_error("ResourceNotFoundException", logs.put_log_events, logGroupName=group,
                 logStreamName="nope", logEvents=[{"timestamp": t, "message": "x"}])
    # Failed batches stored nothing.
    assert logs.describe_log_streams(logGroupName=group)["logStreams"][0]["storedBytes"] == 2


def test_filter_log_events(logs):
    group = uniq("/filter")
    logs.create_log_group(logGroupName=group)
    t = now_ms() - 5000
    for s, lines in (("web/1", ["GET /a 200", "GET /b 500 ERROR", "boot done"]),
                     ("web/2", ["GET /c 200", "ERROR disk full", "WARN slow"]),
                     ("db/1", ["ERROR conn refused"])):
        logs.create_log_stream(logGroupName=group, logStreamName=s)
        logs.put_log_events(logGroupName=group, logStreamName=s, logEvents=[
            {"timestamp": t + 10 * i + (1 if s == "web/2" else 0), "message": m}
            for i, m in enumerate(lines)])
    f = lambda **kw: [(e["logStreamName"], e["message"]) for e in
                      logs.filter_log_events(logGroupName=group, **kw)["events"]]
    # Interleaved by time across streams.
    assert f(logStreamNamePrefix="web") == [
        ("web/1", "GET /a 200"), ("web/2", "GET /c 200"), ("web/1", "GET /b 500 ERROR"),
        ("web/2", "ERROR disk full"), ("web/1", "boot done"), ("web/2", "WARN slow")]
    assert f(filterPattern="ERROR") == [("db/1", "ERROR conn refused"), ("web/1", "GET /b 500 ERROR"),
                                        ("web/2", "ERROR disk full")]
    assert f(filterPattern='"disk full"') == [("web/2", "ERROR disk full")]
    assert f(filterPattern="ERROR -disk -conn") == [("web/1", "GET /b 500 ERROR")]
    assert f(filterPattern="?WARN ?boot") == [("web/1", "boot done"), ("web/2", "WARN slow")]
    assert f(logStreamNames=["db/1"]) == [("db/1", "ERROR conn refused")]
    assert f(startTime=t + 10, endTime=t + 20) == [("web/1", "GET /b 500 ERROR"),
                                                   ("web/2", "ERROR disk full")]
    # Pagination through nextToken returns everything once, in order.
    allev = f()
    seen, token = [], None
    while True:
        kw = {"logGroupName": group, "limit": 2}
        if token:
            kw["nextToken"] = token
        page = logs.filter_log_events(**kw)
        seen += [(e["logStreamName"], e["message"]) for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == allev and len(allev) == 7
    ids = [e["eventId"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert len(set(ids)) == 7


def test_retention_enforced(logs):
    group, stream = make_stream(logs)
    t = now_ms()
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t - 3 * 86400000, "message": "three days old"},
        {"timestamp": t - 3 * 86400000 + 1, "message": "also old"}])
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": t, "message": "fresh"}])
    expect_error("InvalidParameterException", logs.put_retention_policy, logGroupName=group,
                 retentionInDays=2)
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert g["retentionInDays"] == 1 and g["storedBytes"] == len("fresh")
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["fresh"]
    # New events older than the retention are refused as expired.
    r = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t - 2 * 86400000, "message": "too late"}])
    assert r["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]


def test_tags_by_arn(logs, wharfd):
    group = uniq("/tags")
    logs.create_log_group(logGroupName=group)
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"
    logs.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    logs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    expect_error("ResourceNotFoundException", logs.list_tags_for_resource,
                 resourceArn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:nope")
    expect_error("TooManyTagsException", logs.tag_resource, resourceArn=arn,
                 tags={f"k{i}": "v" for i in range(50)})


def test_cli_get_log_events_and_tail(wharfd, logs):
    group, stream = make_stream(logs, stream="app/web/0123")
    t = now_ms() - 2000
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t + i, "message": f"numbered {i:03d}"} for i in range(50)])
    out = wharfd.cli("logs", "get-log-events", "--log-group-name", group, "--log-stream-name",
                     stream, "--start-from-head")
    assert [e["message"] for e in out["events"]] == [f"numbered {i:03d}" for i in range(50)]
    p = cli_text(wharfd, "logs", "tail", group, "--since", "10m", "--format", "short")
    lines = [l.split(" ", 1)[1] for l in p.stdout.splitlines() if l.strip()]
    assert lines == [f"numbered {i:03d}" for i in range(50)], p.stderr


def test_parallel_writers_one_stream(logs, wharfd):
    group, stream = make_stream(logs)
    t = now_ms()

    def writer(k):
        c = wharfd.client("logs", cached=False)
        for b in range(5):
            c.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
                {"timestamp": t, "message": f"w{k} b{b} e{i}"} for i in range(100)])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    got, token = [], None
    while True:
        kw = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        page = logs.get_log_events(**kw)
        if not page["events"]:
            break
        got += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
    assert len(got) == 2000 and len(set(got)) == 2000
