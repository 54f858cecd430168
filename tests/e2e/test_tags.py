"""TagResource, UntagResource, ListTagsForResource on clusters and task definitions."""
import pytest

from conftest import cluster_arn, container, expect_error, tags_dict, td_arn, uniq

INVALID = "InvalidParameterException"
# Going over 50 tags: ECS's model lists LimitExceededException for TagResource; a request that
# alone carries 51 tags also fails the model's list bound (InvalidParameterException).
TOO_MANY = ("InvalidParameterException", "LimitExceededException")


def mk_tags(n, prefix="k"):
    return [{"key": f"{prefix}{i}", "value": f"v{i}"} for i in range(n)]


@pytest.fixture
def cluster(ecs):
    name = uniq("tagc")
    ecs.create_cluster(clusterName=name)
    return cluster_arn(name)


@pytest.fixture
def taskdef(ecs):
    fam = uniq("tagtd")
    ecs.register_task_definition(family=fam, containerDefinitions=[container()])
    return td_arn(fam, 1)


@pytest.mark.parametrize("kind", ["cluster", "taskdef"])
def test_tag_untag_list(ecs, request, kind):
    arn = request.getfixturevalue(kind)
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == []
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    assert tags_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"a": "1", "b": "2"}
    # Tagging again merges and overwrites values of existing keys.
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "two"}, {"key": "c", "value": ""}])
    assert tags_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == \
        {"a": "1", "b": "two", "c": ""}
    # Untag removes the named keys; unknown keys are ignored.
    ecs.untag_resource(resourceArn=arn, tagKeys=["a", "nope"])
    assert tags_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"b": "two", "c": ""}
    ecs.untag_resource(resourceArn=arn, tagKeys=["b", "c"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_tags_are_per_resource(ecs, cluster, taskdef):
    ecs.tag_resource(resourceArn=cluster, tags=[{"key": "owner", "value": "cluster"}])
    ecs.tag_resource(resourceArn=taskdef, tags=[{"key": "owner", "value": "taskdef"}])
    assert tags_dict(ecs.list_tags_for_resource(resourceArn=cluster)["tags"]) == {"owner": "cluster"}
    assert tags_dict(ecs.list_tags_for_resource(resourceArn=taskdef)["tags"]) == {"owner": "taskdef"}


def test_fifty_tags_allowed_fifty_one_refused(ecs, cluster):
    ecs.tag_resource(resourceArn=cluster, tags=mk_tags(50))
    assert len(ecs.list_tags_for_resource(resourceArn=cluster)["tags"]) == 50
    # Overwriting existing keys keeps the count at 50: allowed.
    ecs.tag_resource(resourceArn=cluster, tags=[{"key": "k0", "value": "new"}])
    # A 51st key is refused and changes nothing.
    expect_error(TOO_MANY, ecs.tag_resource, resourceArn=cluster,
                 tags=[{"key": "k50", "value": "x"}])
    got = tags_dict(ecs.list_tags_for_resource(resourceArn=cluster)["tags"])
    assert len(got) == 50 and got["k0"] == "new" and "k50" not in got


def test_fifty_one_tags_in_one_request_refused(ecs, cluster):
    expect_error(TOO_MANY, ecs.tag_resource, resourceArn=cluster, tags=mk_tags(51))
    assert ecs.list_tags_for_resource(resourceArn=cluster)["tags"] == []


def test_merge_over_the_limit_is_refused_atomically(ecs, cluster):
    ecs.tag_resource(resourceArn=cluster, tags=mk_tags(30, "old"))
    expect_error(TOO_MANY, ecs.tag_resource, resourceArn=cluster, tags=mk_tags(21, "new"))
    got = tags_dict(ecs.list_tags_for_resource(resourceArn=cluster)["tags"])
    assert got == tags_dict(mk_tags(30, "old"))


def test_create_cluster_with_51_tags_refused(ecs):
    name = uniq("t51")
    expect_error(TOO_MANY, ecs.create_cluster, clusterName=name, tags=mk_tags(51))
    assert ecs.describe_clusters(clusters=[name])["failures"][0]["reason"] == "MISSING"


@pytest.mark.parametrize("key", ["aws:owner", "AWS:owner", "Aws:Owner"])
def test_aws_prefix_reserved(ecs, cluster, key):
    msg = expect_error(INVALID, ecs.tag_resource, resourceArn=cluster,
                       tags=[{"key": key, "value": "x"}])
    assert key in msg or "aws:" in msg.lower()
    assert ecs.list_tags_for_resource(resourceArn=cluster)["tags"] == []


def test_aws_prefix_reserved_at_create_and_register(ecs):
    expect_error(INVALID, ecs.create_cluster, clusterName=uniq("awsp"),
                 tags=[{"key": "aws:x", "value": "y"}])
    expect_error(INVALID, ecs.register_task_definition, family=uniq("awsp"),
                 containerDefinitions=[container()], tags=[{"key": "aws:x", "value": "y"}])


def test_untag_aws_prefix_refused(ecs, cluster):
    expect_error(INVALID, ecs.untag_resource, resourceArn=cluster, tagKeys=["aws:owner"])


@pytest.mark.parametrize("tag", [
    {"key": "k" * 129, "value": "v"},      # key longer than 128
    {"key": "k", "value": "v" * 257},      # value longer than 256
    {"key": "", "value": "v"},             # empty key
    {"key": "bad*key", "value": "v"},      # outside the model's pattern
])
def test_tag_lengths_and_pattern(wharfd, ecs, cluster, tag):
    # Sent raw: botocore would refuse the empty key itself before sending.
    r = wharfd.call("TagResource", {"resourceArn": cluster, "tags": [tag]})
    assert (r.status, r.error_type) == (400, INVALID), r
    assert "tags[0]" in r.message or "key" in r.message or "value" in r.message, r
    assert ecs.list_tags_for_resource(resourceArn=cluster)["tags"] == []


def test_tag_longest_key_and_value(ecs, cluster):
    tag = {"key": "k" * 128, "value": "v" * 256}
    ecs.tag_resource(resourceArn=cluster, tags=[tag])
    assert ecs.list_tags_for_resource(resourceArn=cluster)["tags"] == [tag]


def test_duplicate_keys_in_one_request_refused(ecs, cluster):
    expect_error(INVALID, ecs.tag_resource, resourceArn=cluster,
                 tags=[{"key": "dup", "value": "1"}, {"key": "dup", "value": "2"}])


def test_tag_missing_resources(ecs):
    missing_cluster = cluster_arn(uniq("ghost"))
    missing_td = td_arn(uniq("ghost"), 1)
    for arn in (missing_cluster, missing_td):
        for call, args in ((ecs.tag_resource, {"tags": [{"key": "a", "value": "b"}]}),
                           (ecs.untag_resource, {"tagKeys": ["a"]}),
                           (ecs.list_tags_for_resource, {})):
            expect_error(("ClusterNotFoundException", "ResourceNotFoundException",
                          "InvalidParameterException", "ClientException"),
                         call, resourceArn=arn, **args)


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:s3:::bucket",
                                 "arn:aws:ecs:us-east-1:123456789012:widget/x"])
def test_tag_bad_arn(ecs, arn):
    expect_error(INVALID, ecs.tag_resource, resourceArn=arn, tags=[{"key": "a", "value": "b"}])
