"""Clusters: CreateCluster, DescribeClusters, ListClusters, UpdateCluster, UpdateClusterSettings,
PutClusterCapacityProviders, DeleteCluster, and region isolation (boto3)."""

import pytest

from conftest import (cluster_arn, expect_error, list_all, tags_dict, uniq)

COUNTS = ("registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount",
          "activeServicesCount")
INVALID = "InvalidParameterException"
NOT_FOUND = "ClusterNotFoundException"


def strategy(items):
    """A strategy as ECS reports it: weight and base default to 0."""
    return [{"capacityProvider": i["capacityProvider"], "weight": i.get("weight", 0),
             "base": i.get("base", 0)} for i in items]


def describe_one(ecs, name, include=()):
    r = ecs.describe_clusters(clusters=[name], include=list(include))
    assert r["failures"] == [], r
    assert len(r["clusters"]) == 1, r
    return r["clusters"][0]


# ---- CreateCluster -------------------------------------------------------------------------

def test_create_cluster_returns_active_cluster_with_zero_counts(ecs):
    name = uniq("c")
    c = ecs.create_cluster(clusterName=name)["cluster"]
    assert c["clusterName"] == name
    assert c["clusterArn"] == cluster_arn(name)
    assert c["status"] == "ACTIVE"
    for k in COUNTS:
        assert c[k] == 0, (k, c)
    assert c.get("capacityProviders", []) == []
    assert c.get("defaultCapacityProviderStrategy", []) == []


def test_create_cluster_is_idempotent_on_name(ecs):
    name = uniq("idem")
    a = ecs.create_cluster(clusterName=name)["cluster"]
    b = ecs.create_cluster(clusterName=name)["cluster"]
    assert a["clusterArn"] == b["clusterArn"] == cluster_arn(name)
    assert b["status"] == "ACTIVE"
    arns, _ = list_all(ecs.list_clusters, "clusterArns")
    assert arns.count(cluster_arn(name)) == 1


def test_create_cluster_without_name_creates_default(wharfd):
    ecs = wharfd.client(region="ca-central-1")
    # DescribeClusters with no cluster names the default cluster: MISSING before it exists.
    r = ecs.describe_clusters()
    assert r["clusters"] == []
    assert r["failures"] == [{"arn": cluster_arn("default", "ca-central-1"), "reason": "MISSING"}]
    c = ecs.create_cluster()["cluster"]
    assert c["clusterName"] == "default"
    assert c["clusterArn"] == cluster_arn("default", "ca-central-1")
    r = ecs.describe_clusters()
    assert [x["clusterName"] for x in r["clusters"]] == ["default"]
    assert r["failures"] == []


@pytest.mark.parametrize("name", ["has space", "bad!name", "dots.are.bad", "x" * 256])
def test_create_cluster_rejects_bad_names(ecs, name):
    expect_error(INVALID, ecs.create_cluster, clusterName=name)


def test_create_cluster_accepts_longest_name(ecs):
    name = (uniq("long") + "_" + "y" * 255)[:255]
    c = ecs.create_cluster(clusterName=name)["cluster"]
    assert c["clusterName"] == name and len(name) == 255


def test_create_cluster_settings(ecs):
    name = uniq("set")
    settings = [{"name": "containerInsights", "value": "enabled"}]
    c = ecs.create_cluster(clusterName=name, settings=settings)["cluster"]
    assert c["settings"] == settings
    assert describe_one(ecs, name, ["SETTINGS"])["settings"] == settings


def test_create_cluster_rejects_bad_setting_value(ecs):
    name = uniq("set")
    msg = expect_error(INVALID, ecs.create_cluster, clusterName=name,
                       settings=[{"name": "containerInsights", "value": "bogus"}])
    assert "bogus" in msg
    assert ecs.describe_clusters(clusters=[name])["failures"][0]["reason"] == "MISSING"


def test_create_cluster_tags(ecs):
    name = uniq("tag")
    tags = [{"key": "env", "value": "prod"}, {"key": "team", "value": "core"},
            {"key": "empty", "value": ""}]
    c = ecs.create_cluster(clusterName=name, tags=tags)["cluster"]
    assert tags_dict(c.get("tags", [])) in ({}, tags_dict(tags))  # Create may echo them
    assert tags_dict(describe_one(ecs, name, ["TAGS"])["tags"]) == tags_dict(tags)
    listed = ecs.list_tags_for_resource(resourceArn=cluster_arn(name))["tags"]
    assert tags_dict(listed) == tags_dict(tags)
    # Without include=TAGS the tags are not reported.
    assert describe_one(ecs, name).get("tags", []) == []


def test_create_cluster_capacity_providers_and_strategy(ecs):
    name = uniq("cp")
    items = [{"capacityProvider": "FARGATE", "weight": 1, "base": 2},
             {"capacityProvider": "FARGATE_SPOT", "weight": 4}]
    c = ecs.create_cluster(clusterName=name, capacityProviders=["FARGATE", "FARGATE_SPOT"],
                           defaultCapacityProviderStrategy=items)["cluster"]
    assert c["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert strategy(c["defaultCapacityProviderStrategy"]) == strategy(items)
    d = describe_one(ecs, name)
    assert d["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert strategy(d["defaultCapacityProviderStrategy"]) == strategy(items)


@pytest.mark.parametrize("providers,items,needle", [
    # strategy names a provider the cluster does not have
    (["FARGATE"], [{"capacityProvider": "FARGATE_SPOT", "weight": 1}], "FARGATE_SPOT"),
    # unknown capacity provider
    (["NOPE_PROVIDER"], [], "NOPE_PROVIDER"),
    # the same provider twice in the strategy
    (["FARGATE"], [{"capacityProvider": "FARGATE", "weight": 1},
                   {"capacityProvider": "FARGATE", "weight": 2}], "FARGATE"),
    # only one item may have a base
    (["FARGATE", "FARGATE_SPOT"], [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                                   {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 1}],
     "base"),
    # weight out of the model's range 0..1000
    (["FARGATE"], [{"capacityProvider": "FARGATE", "weight": 1001}], "weight"),
    # base out of the model's range 0..100000
    (["FARGATE"], [{"capacityProvider": "FARGATE", "weight": 1, "base": 100001}], "base"),
])
def test_create_cluster_rejects_bad_capacity_provider_strategy(ecs, providers, items, needle):
    name = uniq("badcp")
    msg = expect_error((INVALID, "ClientException"), ecs.create_cluster, clusterName=name,
                       capacityProviders=providers, defaultCapacityProviderStrategy=items)
    assert needle in msg
    # Nothing was created.
    assert ecs.describe_clusters(clusters=[name])["failures"][0]["reason"] == "MISSING"


def test_create_cluster_configuration(ecs):
    name = uniq("cfg")
    cfg = {"executeCommandConfiguration": {
        "logging": "OVERRIDE",
        "logConfiguration": {"cloudWatchLogGroupName": "/ecs/exec", "cloudWatchEncryptionEnabled": True}}}
    ecs.create_cluster(clusterName=name, configuration=cfg)
    assert describe_one(ecs, name, ["CONFIGURATIONS"])["configuration"] == cfg


# ---- DescribeClusters ----------------------------------------------------------------------

def test_describe_clusters_by_name_and_arn_with_missing(ecs):
    a, b, missing = uniq("da"), uniq("db"), uniq("missing")
    ecs.create_cluster(clusterName=a)
    ecs.create_cluster(clusterName=b)
    r = ecs.describe_clusters(clusters=[a, cluster_arn(b), missing])
    assert sorted(c["clusterArn"] for c in r["clusters"]) == sorted([cluster_arn(a), cluster_arn(b)])
    assert r["failures"] == [{"arn": cluster_arn(missing), "reason": "MISSING"}]
    for c in r["clusters"]:
        assert c["status"] == "ACTIVE"
        for k in COUNTS:
            assert c[k] == 0


def test_describe_clusters_missing_arn_keeps_arn(ecs):
    arn = cluster_arn(uniq("gone"))
    r = ecs.describe_clusters(clusters=[arn])
    assert r["clusters"] == []
    assert r["failures"] == [{"arn": arn, "reason": "MISSING"}]


def test_describe_clusters_statistics(ecs):
    name = uniq("stats")
    ecs.create_cluster(clusterName=name)
    c = describe_one(ecs, name, ["STATISTICS"])
    stats = {s["name"]: s["value"] for s in c["statistics"]}
    for k in ("runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount",
              "pendingFargateTasksCount", "activeEC2ServiceCount", "activeFargateServiceCount",
              "drainingEC2ServiceCount", "drainingFargateServiceCount"):
        assert stats.get(k) == "0", (k, c["statistics"])
    assert all(v == "0" for v in stats.values()), stats
    for k in COUNTS:
        assert c[k] == 0


def test_describe_clusters_all_includes(ecs):
    name = uniq("all")
    settings = [{"name": "containerInsights", "value": "disabled"}]
    tags = [{"key": "k", "value": "v"}]
    cfg = {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    ecs.create_cluster(clusterName=name, settings=settings, tags=tags, configuration=cfg)
    c = describe_one(ecs, name, ["SETTINGS", "STATISTICS", "TAGS", "CONFIGURATIONS"])
    assert c["settings"] == settings
    assert tags_dict(c["tags"]) == {"k": "v"}
    assert c["configuration"] == cfg
    assert len(c["statistics"]) > 0


def test_describe_clusters_rejects_unknown_include(wharfd):
    r = wharfd.call("DescribeClusters", {"clusters": ["x"], "include": ["BOGUS"]})
    assert r.status == 400 and r.error_type == INVALID, r
    assert "include" in r.message


# ---- ListClusters --------------------------------------------------------------------------

def test_list_clusters_pagination_no_gaps_no_duplicates(wharfd):
    region = "ap-southeast-2"  # only this test makes clusters here
    ecs = wharfd.client(region=region)
    names = [uniq(f"p{i:02d}") for i in range(11)]
    for n in names:
        ecs.create_cluster(clusterName=n)
    expected = sorted(cluster_arn(n, region) for n in names)

    whole = ecs.list_clusters()
    assert sorted(whole["clusterArns"]) == expected
    assert "nextToken" not in whole

    pages, token = [], None
    while True:
        args = {"maxResults": 3}
        if token:
            args["nextToken"] = token
        r = ecs.list_clusters(**args)
        pages.append(r["clusterArns"])
        token = r.get("nextToken")
        if not token:
            break
        assert len(pages) < 20
    assert [len(p) for p in pages] == [3, 3, 3, 2]
    flat = [a for p in pages for a in p]
    assert len(flat) == len(set(flat)), f"duplicates across pages: {pages}"
    assert sorted(flat) == expected

    # Exactly one full page: no empty trailing page, or a token leading to one, is fine,
    # but no item may be lost.
    r = ecs.list_clusters(maxResults=11)
    got = list(r["clusterArns"])
    if r.get("nextToken"):
        rest = ecs.list_clusters(maxResults=11, nextToken=r["nextToken"])
        assert rest["clusterArns"] == [] and not rest.get("nextToken")
    assert sorted(got) == expected


def test_list_clusters_pagination_is_stable_while_clusters_are_added(wharfd):
    region = "sa-east-1"  # only this test makes clusters here
    ecs = wharfd.client(region=region)
    first = [uniq("s") for _ in range(6)]
    for n in first:
        ecs.create_cluster(clusterName=n)
    r = ecs.list_clusters(maxResults=2)
    seen = list(r["clusterArns"])
    for _ in range(3):
        ecs.create_cluster(clusterName=uniq("late"))
    seen += list_all(ecs.list_clusters, "clusterArns", maxResults=2, nextToken=r["nextToken"])[0]
    assert len(seen) == len(set(seen)), seen
    # Every cluster that existed for the whole walk is reported.
    assert set(cluster_arn(n, region) for n in first) <= set(seen)


@pytest.mark.parametrize("args", [{"maxResults": 0}, {"maxResults": 101},
                                  {"nextToken": "not-a-token"}])
def test_list_clusters_rejects_bad_paging(ecs, args):
    expect_error(INVALID, ecs.list_clusters, **args)


# ---- UpdateCluster / UpdateClusterSettings / PutClusterCapacityProviders -------------------

def test_update_cluster_settings_and_configuration(ecs):
    name = uniq("upd")
    ecs.create_cluster(clusterName=name)
    settings = [{"name": "containerInsights", "value": "enabled"}]
    cfg = {"executeCommandConfiguration": {"kmsKeyId": "alias/exec", "logging": "NONE"}}
    c = ecs.update_cluster(cluster=name, settings=settings, configuration=cfg)["cluster"]
    assert c["clusterArn"] == cluster_arn(name)
    assert c["settings"] == settings
    assert c["configuration"] == cfg
    d = describe_one(ecs, name, ["SETTINGS", "CONFIGURATIONS"])
    assert d["settings"] == settings
    assert d["configuration"] == cfg
    # An update that leaves out configuration keeps it.
    settings2 = [{"name": "containerInsights", "value": "disabled"}]
    ecs.update_cluster(cluster=cluster_arn(name), settings=settings2)
    d = describe_one(ecs, name, ["SETTINGS", "CONFIGURATIONS"])
    assert d["settings"] == settings2
    assert d["configuration"] == cfg


def test_update_cluster_settings(ecs):
    name = uniq("ucs")
    ecs.create_cluster(clusterName=name, settings=[{"name": "containerInsights", "value": "disabled"}])
    settings = [{"name": "containerInsights", "value": "enabled"}]
    c = ecs.update_cluster_settings(cluster=name, settings=settings)["cluster"]
    assert c["clusterName"] == name
    assert c["settings"] == settings
    assert describe_one(ecs, name, ["SETTINGS"])["settings"] == settings
    msg = expect_error(INVALID, ecs.update_cluster_settings, cluster=name,
                       settings=[{"name": "containerInsights", "value": "sometimes"}])
    assert "sometimes" in msg
    assert describe_one(ecs, name, ["SETTINGS"])["settings"] == settings


@pytest.mark.parametrize("call", ["update_cluster", "update_cluster_settings",
                                  "put_cluster_capacity_providers", "delete_cluster"])
def test_mutating_missing_cluster_is_cluster_not_found(ecs, call):
    args = {"cluster": uniq("nowhere")}
    if call in ("update_cluster", "update_cluster_settings"):
        args["settings"] = [{"name": "containerInsights", "value": "enabled"}]
    if call == "put_cluster_capacity_providers":
        args.update(capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[])
    expect_error(NOT_FOUND, getattr(ecs, call), **args)


def test_put_cluster_capacity_providers(ecs):
    name = uniq("pcp")
    ecs.create_cluster(clusterName=name)
    items = [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 1}]
    c = ecs.put_cluster_capacity_providers(cluster=name, capacityProviders=["FARGATE_SPOT"],
                                           defaultCapacityProviderStrategy=items)["cluster"]
    assert c["capacityProviders"] == ["FARGATE_SPOT"]
    assert strategy(c["defaultCapacityProviderStrategy"]) == strategy(items)
    d = describe_one(ecs, name)
    assert d["capacityProviders"] == ["FARGATE_SPOT"]
    assert strategy(d["defaultCapacityProviderStrategy"]) == strategy(items)

    # A strategy naming a provider not in the list is refused and changes nothing.
    expect_error(INVALID, ecs.put_cluster_capacity_providers, cluster=name,
                 capacityProviders=["FARGATE_SPOT"],
                 defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    expect_error((INVALID, "ClientException"), ecs.put_cluster_capacity_providers, cluster=name,
                 capacityProviders=["NOT_A_PROVIDER"], defaultCapacityProviderStrategy=[])
    d = describe_one(ecs, name)
    assert d["capacityProviders"] == ["FARGATE_SPOT"]
    assert strategy(d["defaultCapacityProviderStrategy"]) == strategy(items)

    # Empty lists clear both.
    c = ecs.put_cluster_capacity_providers(cluster=name, capacityProviders=[],
                                           defaultCapacityProviderStrategy=[])["cluster"]
    assert c.get("capacityProviders", []) == []
    assert c.get("defaultCapacityProviderStrategy", []) == []


# ---- DeleteCluster -------------------------------------------------------------------------

def test_delete_cluster_lifecycle(ecs):
    name = uniq("del")
    arn = cluster_arn(name)
    ecs.create_cluster(clusterName=name, tags=[{"key": "a", "value": "b"}])
    c = ecs.delete_cluster(cluster=name)["cluster"]
    assert c["clusterArn"] == arn
    assert c["status"] == "INACTIVE"

    # Still describable, as INACTIVE, and not a failure.
    r = ecs.describe_clusters(clusters=[name])
    assert r["failures"] == []
    assert [(x["clusterArn"], x["status"]) for x in r["clusters"]] == [(arn, "INACTIVE")]
    # Not listed.
    arns, _ = list_all(ecs.list_clusters, "clusterArns")
    assert arn not in arns
    # Mutations are refused.
    expect_error(NOT_FOUND, ecs.update_cluster_settings, cluster=name,
                 settings=[{"name": "containerInsights", "value": "enabled"}])
    expect_error(NOT_FOUND, ecs.update_cluster, cluster=name,
                 settings=[{"name": "containerInsights", "value": "enabled"}])
    expect_error(NOT_FOUND, ecs.put_cluster_capacity_providers, cluster=name,
                 capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[])
    expect_error(NOT_FOUND, ecs.delete_cluster, cluster=name)

    # CreateCluster with the name again brings it back ACTIVE, listed, with the same ARN.
    c = ecs.create_cluster(clusterName=name)["cluster"]
    assert c["clusterArn"] == arn and c["status"] == "ACTIVE"
    arns, _ = list_all(ecs.list_clusters, "clusterArns")
    assert arns.count(arn) == 1


def test_delete_cluster_by_arn(ecs):
    name = uniq("delarn")
    ecs.create_cluster(clusterName=name)
    c = ecs.delete_cluster(cluster=cluster_arn(name))["cluster"]
    assert (c["clusterName"], c["status"]) == (name, "INACTIVE")


# ---- regions -------------------------------------------------------------------------------

def test_regions_are_isolated(wharfd):
    west = wharfd.client(region="us-west-2")
    eu = wharfd.client(region="eu-west-1")
    name = uniq("reg")
    c = west.create_cluster(clusterName=name)["cluster"]
    assert c["clusterArn"] == cluster_arn(name, "us-west-2")

    eu_arns, _ = list_all(eu.list_clusters, "clusterArns")
    assert cluster_arn(name, "us-west-2") not in eu_arns
    assert all(":eu-west-1:" in a for a in eu_arns), eu_arns
    r = eu.describe_clusters(clusters=[name])
    assert r["clusters"] == []
    assert r["failures"] == [{"arn": cluster_arn(name, "eu-west-1"), "reason": "MISSING"}]
    expect_error(NOT_FOUND, eu.delete_cluster, cluster=name)

    # The same name in another region is another cluster.
    c2 = eu.create_cluster(clusterName=name, tags=[{"key": "where", "value": "eu"}])["cluster"]
    assert c2["clusterArn"] == cluster_arn(name, "eu-west-1")
    eu.delete_cluster(cluster=name)
    w = west.describe_clusters(clusters=[name], include=["TAGS"])["clusters"]
    assert [(x["clusterArn"], x["status"]) for x in w] == [(cluster_arn(name, "us-west-2"), "ACTIVE")]
    assert w[0].get("tags", []) == []
    west_arns, _ = list_all(west.list_clusters, "clusterArns")
    assert cluster_arn(name, "us-west-2") in west_arns
    assert all(":us-west-2:" in a for a in west_arns), west_arns
