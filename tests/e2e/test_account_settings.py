"""PutAccountSetting, PutAccountSettingDefault, ListAccountSettings (stored, reported). Each test
uses a region of its own: account settings are regional."""
from conftest import ROOT_ARN, expect_error, list_all

BASE_NAMES = {"serviceLongArnFormat", "taskLongArnFormat", "containerInstanceLongArnFormat",
              "awsvpcTrunking", "containerInsights"}


def settings(ecs, **kw):
    return list_all(ecs.list_account_settings, "settings", **kw)[0]


def test_effective_defaults(wharfd):
    ecs = wharfd.client(region="ap-northeast-1")
    eff = settings(ecs, effectiveSettings=True)
    names = {s["name"] for s in eff}
    assert BASE_NAMES <= names, names
    by_name = {s["name"]: s["value"] for s in eff}
    assert by_name["containerInsights"] == "disabled"
    assert by_name["awsvpcTrunking"] == "disabled"
    one = settings(ecs, name="containerInsights", effectiveSettings=True)
    assert [(s["name"], s["value"]) for s in one] == [("containerInsights", "disabled")]
    # Nothing was set explicitly.
    assert settings(ecs, name="containerInsights") == []


def test_put_account_setting_and_list(wharfd):
    ecs = wharfd.client(region="ap-northeast-2")
    s = ecs.put_account_setting(name="containerInsights", value="enabled")["setting"]
    assert (s["name"], s["value"]) == ("containerInsights", "enabled")
    assert s["principalArn"] == ROOT_ARN
    got = settings(ecs, name="containerInsights")
    assert [(x["name"], x["value"], x["principalArn"]) for x in got] == \
        [("containerInsights", "enabled", ROOT_ARN)]
    eff = settings(ecs, name="containerInsights", effectiveSettings=True)
    assert [x["value"] for x in eff] == ["enabled"]
    # value filter
    assert settings(ecs, name="containerInsights", value="disabled") == []
    assert len(settings(ecs, name="containerInsights", value="enabled")) == 1
    # principalArn filter
    assert len(settings(ecs, name="containerInsights", principalArn=ROOT_ARN)) == 1
    # Overwrite.
    ecs.put_account_setting(name="containerInsights", value="disabled")
    assert [x["value"] for x in settings(ecs, name="containerInsights")] == ["disabled"]


def test_put_account_setting_default(wharfd):
    ecs = wharfd.client(region="ap-northeast-3")
    s = ecs.put_account_setting_default(name="awsvpcTrunking", value="enabled")["setting"]
    assert (s["name"], s["value"]) == ("awsvpcTrunking", "enabled")
    assert s.get("principalArn", ROOT_ARN) == ROOT_ARN
    eff = settings(ecs, name="awsvpcTrunking", effectiveSettings=True)
    assert [(x["name"], x["value"]) for x in eff] == [("awsvpcTrunking", "enabled")]
    by_name = {x["name"]: x["value"] for x in settings(ecs, effectiveSettings=True)}
    assert by_name["awsvpcTrunking"] == "enabled"
    assert by_name["containerInsights"] == "disabled"


def test_account_settings_are_regional(wharfd):
    a = wharfd.client(region="eu-north-1")
    b = wharfd.client(region="eu-south-1")
    a.put_account_setting(name="containerInsights", value="enabled")
    assert [x["value"] for x in settings(a, name="containerInsights", effectiveSettings=True)] == \
        ["enabled"]
    assert [x["value"] for x in settings(b, name="containerInsights", effectiveSettings=True)] == \
        ["disabled"]


def test_put_account_setting_rejects_bad_values(wharfd):
    ecs = wharfd.client(region="me-south-1")
    msg = expect_error("InvalidParameterException", ecs.put_account_setting,
                       name="containerInsights", value="maybe")
    assert "maybe" in msg
    expect_error("InvalidParameterException", ecs.put_account_setting_default,
                 name="awsvpcTrunking", value="perhaps")
    assert settings(ecs, name="containerInsights") == []
    # Unknown setting names are refused by the model's enum.
    r = wharfd.call("PutAccountSetting", {"name": "noSuchSetting", "value": "enabled"},
                    region="me-south-1")
    assert (r.status, r.error_type) == (400, "InvalidParameterException"), r
    assert "name" in r.message
