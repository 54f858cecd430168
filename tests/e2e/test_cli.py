"""The flows users type, through the AWS CLI v2 (/usr/bin/aws). Each call costs about a second,
so each test walks a whole flow."""
import json

import pytest

from conftest import CliError, cluster_arn, tags_dict, td_arn, uniq


def test_cli_cluster_flow(wharfd):
    name = uniq("cli")
    out = wharfd.cli("ecs", "create-cluster", "--cluster-name", name,
                     "--tags", "key=env,value=dev", "key=team,value=ops",
                     "--settings", "name=containerInsights,value=enabled")
    c = out["cluster"]
    assert (c["clusterName"], c["clusterArn"], c["status"]) == (name, cluster_arn(name), "ACTIVE")

    out = wharfd.cli("ecs", "describe-clusters", "--clusters", name, "nope-" + name,
                     "--include", "TAGS", "SETTINGS", "STATISTICS")
    assert [x["clusterArn"] for x in out["clusters"]] == [cluster_arn(name)]
    got = out["clusters"][0]
    assert tags_dict(got["tags"]) == {"env": "dev", "team": "ops"}
    assert got["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert all(s["value"] == "0" for s in got["statistics"])
    assert out["failures"] == [{"arn": cluster_arn("nope-" + name), "reason": "MISSING"}]

    wharfd.cli("ecs", "tag-resource", "--resource-arn", cluster_arn(name),
               "--tags", "key=cost,value=42")
    out = wharfd.cli("ecs", "list-tags-for-resource", "--resource-arn", cluster_arn(name))
    assert tags_dict(out["tags"]) == {"env": "dev", "team": "ops", "cost": "42"}

    out = wharfd.cli("ecs", "delete-cluster", "--cluster", name)
    assert out["cluster"]["status"] == "INACTIVE"


def test_cli_list_clusters_auto_pagination(wharfd):
    region = "us-east-2"  # only this test makes clusters here
    ecs = wharfd.client(region=region)
    names = [uniq("pg") for _ in range(7)]
    for n in names:
        ecs.create_cluster(clusterName=n)
    expected = sorted(cluster_arn(n, region) for n in names)

    # --page-size 2: the CLI follows nextToken through 4 requests and merges the pages.
    out = wharfd.cli("ecs", "list-clusters", "--page-size", "2", region=region)
    assert sorted(out["clusterArns"]) == expected
    assert len(out["clusterArns"]) == 7

    # --max-items splits the walk; --starting-token resumes it without gaps or repeats.
    first = wharfd.cli("ecs", "list-clusters", "--page-size", "2", "--max-items", "3",
                       region=region)
    assert len(first["clusterArns"]) == 3
    assert first.get("NextToken")
    rest = wharfd.cli("ecs", "list-clusters", "--page-size", "2", "--starting-token",
                      first["NextToken"], region=region)
    both = first["clusterArns"] + rest["clusterArns"]
    assert len(both) == len(set(both)) == 7
    assert sorted(both) == expected


def test_cli_task_definition_flow(wharfd, tmp_path):
    fam = uniq("clitd")
    spec = {
        "family": fam,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "web", "image": "public.ecr.aws/nginx/nginx:1.25", "essential": True,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            "environment": [{"name": "MODE", "value": "cli"}],
        }],
        "tags": [{"key": "via", "value": "cli"}],
    }
    path = tmp_path / "td.json"
    path.write_text(json.dumps(spec))
    out = wharfd.cli("ecs", "register-task-definition", "--cli-input-json", f"file://{path}")
    td = out["taskDefinition"]
    assert (td["family"], td["revision"], td["status"]) == (fam, 1, "ACTIVE")
    assert td["taskDefinitionArn"] == td_arn(fam, 1)
    assert (td["cpu"], td["memory"], td["networkMode"]) == ("256", "512", "awsvpc")
    assert td["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 80

    out = wharfd.cli("ecs", "register-task-definition", "--cli-input-json", f"file://{path}")
    assert out["taskDefinition"]["revision"] == 2

    out = wharfd.cli("ecs", "describe-task-definition", "--task-definition", fam,
                     "--include", "TAGS")
    assert out["taskDefinition"]["revision"] == 2
    assert out["taskDefinition"]["containerDefinitions"][0]["environment"] == \
        [{"name": "MODE", "value": "cli"}]
    assert tags_dict(out["tags"]) == {"via": "cli"}

    out = wharfd.cli("ecs", "deregister-task-definition", "--task-definition", f"{fam}:1")
    assert (out["taskDefinition"]["revision"], out["taskDefinition"]["status"]) == (1, "INACTIVE")
    # Still describable (boto3 is enough to look).
    assert wharfd.client().describe_task_definition(taskDefinition=f"{fam}:1")[
        "taskDefinition"]["status"] == "INACTIVE"


def test_cli_errors_surface(wharfd, tmp_path):
    with pytest.raises(CliError) as ei:
        wharfd.cli("ecs", "describe-task-definition", "--task-definition", uniq("missing"))
    assert "ClientException" in ei.value.stderr
    bad = {"family": uniq("clibad"), "requiresCompatibilities": ["FARGATE"],
           "networkMode": "awsvpc", "cpu": "256", "memory": "4096",
           "containerDefinitions": [{"name": "a", "image": "b", "essential": True}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(CliError) as ei:
        wharfd.cli("ecs", "register-task-definition", "--cli-input-json", f"file://{path}")
    assert "ClientException" in ei.value.stderr or "InvalidParameterException" in ei.value.stderr
    assert "4096" in ei.value.stderr
