"""Concurrent writers: revision numbers stay dense and unique, CreateCluster stays idempotent."""
import threading

from conftest import cluster_arn, container, list_all, td_arn, uniq

THREADS = 8
PER_THREAD = 50


def run_threads(n, fn):
    errors, barrier = [], threading.Barrier(n)

    def wrap(i):
        try:
            barrier.wait(10)
            fn(i)
        except Exception as e:  # reported below, with the thread that saw it
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "threads hung"
    assert errors == [], errors[:5]


def test_concurrent_registrations_get_dense_unique_revisions(wharfd):
    fam = uniq("conc")
    # One client per thread (created here: building clients is not thread-safe).
    clients = [wharfd.client(cached=False) for _ in range(THREADS)]
    revs = [[] for _ in range(THREADS)]

    def work(i):
        c = clients[i]
        for j in range(PER_THREAD):
            td = c.register_task_definition(family=fam, containerDefinitions=[
                container(environment=[{"name": "WHO", "value": f"{i}-{j}"}])])["taskDefinition"]
            revs[i].append(td["revision"])

    run_threads(THREADS, work)
    flat = sorted(r for rs in revs for r in rs)
    assert flat == list(range(1, THREADS * PER_THREAD + 1))
    for rs in revs:  # each thread saw its own revisions increase
        assert rs == sorted(rs)
    ecs = wharfd.client()
    arns = list_all(ecs.list_task_definitions, "taskDefinitionArns", familyPrefix=fam,
                    maxResults=100)[0]
    assert arns == [td_arn(fam, r) for r in range(1, THREADS * PER_THREAD + 1)]
    # Every revision holds the body its registration sent.
    seen = set()
    for r in (1, 137, 400):
        td = ecs.describe_task_definition(taskDefinition=f"{fam}:{r}")["taskDefinition"]
        seen.add(td["containerDefinitions"][0]["environment"][0]["value"])
    assert len(seen) == 3


def test_concurrent_create_cluster_same_name(wharfd):
    name = uniq("race")
    clients = [wharfd.client(cached=False) for _ in range(THREADS)]
    arns = []

    def work(i):
        for _ in range(5):
            arns.append(clients[i].create_cluster(clusterName=name)["cluster"]["clusterArn"])

    run_threads(THREADS, work)
    assert set(arns) == {cluster_arn(name)} and len(arns) == THREADS * 5
    listed = list_all(wharfd.client().list_clusters, "clusterArns")[0]
    assert listed.count(cluster_arn(name)) == 1
