"""State survives a clean restart and kill -9: everything acknowledged is read back."""
import threading

import pytest

from conftest import (ROOT_ARN, cluster_arn, container, list_all, tags_dict, td_arn, uniq,
                      wait_for)


def write_state(d):
    """Write a bit of everything through two regions; return what must be read back."""
    east = d.client(region="us-east-1")
    west = d.client(region="us-west-2")
    s = {"clusters": [], "deleted": None, "family": uniq("dur"), "west": uniq("west")}
    for i in range(5):
        name = uniq(f"dur{i}")
        east.create_cluster(clusterName=name)
        s["clusters"].append(name)
    rich = uniq("rich")
    east.create_cluster(
        clusterName=rich, tags=[{"key": "env", "value": "prod"}],
        settings=[{"name": "containerInsights", "value": "enabled"}],
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 2,
                                          "base": 1}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}})
    s["rich"] = rich
    s["deleted"] = uniq("gone")
    east.create_cluster(clusterName=s["deleted"])
    east.delete_cluster(cluster=s["deleted"])
    west.create_cluster(clusterName=s["west"])

    fam = s["family"]
    for i in range(3):
        east.register_task_definition(family=fam, containerDefinitions=[
            container(image=f"img:{i + 1}", environment=[{"name": "N", "value": str(i + 1)}])],
            tags=[{"key": "rev", "value": str(i + 1)}])
    east.deregister_task_definition(taskDefinition=f"{fam}:2")
    east.tag_resource(resourceArn=cluster_arn(s["clusters"][0]),
                      tags=[{"key": "late", "value": "tag"}])
    east.put_account_setting(name="containerInsights", value="enabled")
    # The last write just before the crash.
    s["burst"] = uniq("burst")
    for _ in range(30):
        last = east.register_task_definition(family=s["burst"],
                                             containerDefinitions=[container()])
    assert last["taskDefinition"]["revision"] == 30
    return s


def check_state(d, s):
    east = d.client(region="us-east-1")
    west = d.client(region="us-west-2")
    arns, _ = list_all(east.list_clusters, "clusterArns")
    expected = [cluster_arn(n) for n in s["clusters"] + [s["rich"]]]
    assert sorted(arns) == sorted(expected)
    assert list_all(west.list_clusters, "clusterArns")[0] == [cluster_arn(s["west"], "us-west-2")]

    r = east.describe_clusters(clusters=[s["rich"], s["deleted"]],
                               include=["TAGS", "SETTINGS", "CONFIGURATIONS"])
    assert r["failures"] == []
    by = {c["clusterName"]: c for c in r["clusters"]}
    rich = by[s["rich"]]
    assert rich["status"] == "ACTIVE"
    assert tags_dict(rich["tags"]) == {"env": "prod"}
    assert rich["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert rich["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert [(x["capacityProvider"], x["weight"], x["base"])
            for x in rich["defaultCapacityProviderStrategy"]] == [("FARGATE_SPOT", 2, 1)]
    assert rich["configuration"] == {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    assert by[s["deleted"]]["status"] == "INACTIVE"
    assert tags_dict(east.list_tags_for_resource(
        resourceArn=cluster_arn(s["clusters"][0]))["tags"]) == {"late": "tag"}

    fam = s["family"]
    assert list_all(east.list_task_definitions, "taskDefinitionArns", familyPrefix=fam)[0] == \
        [td_arn(fam, 1), td_arn(fam, 3)]
    for rev, status in ((1, "ACTIVE"), (2, "INACTIVE"), (3, "ACTIVE")):
        r = east.describe_task_definition(taskDefinition=f"{fam}:{rev}", include=["TAGS"])
        td = r["taskDefinition"]
        assert (td["revision"], td["status"]) == (rev, status)
        assert td["containerDefinitions"][0]["image"] == f"img:{rev}"
        assert td["containerDefinitions"][0]["environment"] == [{"name": "N", "value": str(rev)}]
        assert tags_dict(r["tags"]) == {"rev": str(rev)}
    burst = list_all(east.list_task_definitions, "taskDefinitionArns",
                     familyPrefix=s["burst"])[0]
    assert burst == [td_arn(s["burst"], r) for r in range(1, 31)]
    # Numbering continues after the restart.
    td = east.register_task_definition(family=fam, containerDefinitions=[container()])
    assert td["taskDefinition"]["revision"] == 4

    got = list_all(east.list_account_settings, "settings", name="containerInsights")[0]
    assert [(x["value"], x["principalArn"]) for x in got] == [("enabled", ROOT_ARN)]


@pytest.mark.parametrize("kill", [False, True], ids=["restart", "kill9"])
def test_state_survives(make_wharfd, kill):
    d = make_wharfd()
    s = write_state(d)
    d.restart(kill=kill)
    check_state(d, s)
    # And once more: a second crash after reads and one more write loses nothing either.
    d.restart(kill=kill)
    east = d.client()
    assert east.describe_task_definition(taskDefinition=s["family"])["taskDefinition"][
        "revision"] == 4


def test_kill9_right_after_many_acknowledged_writes(make_wharfd):
    d = make_wharfd()
    ecs = d.client()
    names = [uniq("k") for _ in range(60)]
    for n in names:
        ecs.create_cluster(clusterName=n)
    d.kill9()
    d.start()
    arns, _ = list_all(d.client().list_clusters, "clusterArns", maxResults=100)
    assert sorted(arns) == sorted(cluster_arn(n) for n in names)


def test_kill9_during_concurrent_writes(make_wharfd):
    """kill -9 while writers are mid-request: every acknowledged write is back, revisions stay
    dense, and the store opens cleanly."""
    d = make_wharfd()
    fam = uniq("crash")
    clients = [d.client(cached=False) for _ in range(4)]
    acked_revs, acked_clusters, stop = [], [], threading.Event()

    def worker(i, c):
        n = 0
        while not stop.is_set():
            try:
                if n % 2:
                    name = uniq(f"w{i}")
                    c.create_cluster(clusterName=name)
                    acked_clusters.append(name)
                else:
                    td = c.register_task_definition(family=fam, containerDefinitions=[container()])
                    acked_revs.append(td["taskDefinition"]["revision"])
            except Exception:
                return  # the daemon is gone
            n += 1

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(acked_revs) >= 40, timeout=20, what="writes")
    finally:
        d.kill9()
        stop.set()
        for t in threads:
            t.join(10)
    d.start()
    ecs = d.client()
    arns = list_all(ecs.list_task_definitions, "taskDefinitionArns", familyPrefix=fam,
                    maxResults=100)[0]
    revs = [int(a.rsplit(":", 1)[1]) for a in arns]
    assert revs == list(range(1, len(revs) + 1))
    assert set(acked_revs) <= set(revs)
    listed = set(list_all(ecs.list_clusters, "clusterArns", maxResults=100)[0])
    assert {cluster_arn(n) for n in acked_clusters} <= listed
    # Writes go on where they stopped.
    td = ecs.register_task_definition(family=fam, containerDefinitions=[container()])
    assert td["taskDefinition"]["revision"] == len(revs) + 1
