"""SigV4 authentication against DATADIR/credentials: header and presigned forms, every refusal."""
import datetime
import os
import stat

from botocore.credentials import Credentials

from conftest import ACCOUNT, aws_error, cluster_arn, sign_request, uniq, utcnow, wait_for

MIN = datetime.timedelta(minutes=1)


def test_unsigned_request_refused(wharfd):
    r = wharfd.call("ListClusters", {}, sign=False)
    assert r.status in (400, 403), r
    assert r.error_type == "MissingAuthenticationTokenException", r
    assert r.request_id


def test_unknown_access_key(wharfd):
    ecs = wharfd.client(key="AKIAUNKNOWNUNKNOWN00", secret="x" * 40)
    code, _, status = aws_error(ecs.list_clusters)
    assert (code, status) == ("UnrecognizedClientException", 400)
    r = wharfd.call("ListClusters", {}, creds=Credentials("AKIANOPENOPENOPE0000", "s" * 40))
    assert (r.status, r.error_type) == (400, "UnrecognizedClientException"), r


def test_wrong_secret(wharfd):
    key, secret = wharfd.profiles()["default"]
    bad = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    ecs = wharfd.client(key=key, secret=bad)
    code, _, status = aws_error(ecs.list_clusters)
    assert code == "InvalidSignatureException"
    assert status in (400, 403)


def test_body_changed_after_signing(wharfd):
    req = wharfd.build("CreateCluster", {"clusterName": uniq("a")})
    sign_request(req, wharfd.credentials(), "us-east-1")
    req.data = b'{"clusterName": "' + uniq("b").encode() + b'"}'
    r = wharfd.send(req)
    assert r.status in (400, 403) and r.error_type == "InvalidSignatureException", r


def test_signed_header_changed_after_signing(wharfd):
    req = wharfd.build("ListClusters", {})
    sign_request(req, wharfd.credentials(), "us-east-1")
    del req.headers["X-Amz-Target"]
    req.headers["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113.DescribeClusters"
    r = wharfd.send(req)
    assert r.status in (400, 403) and r.error_type == "InvalidSignatureException", r


def test_signature_twenty_minutes_old(wharfd):
    r = wharfd.call("ListClusters", {}, when=utcnow() - 20 * MIN)
    assert r.status in (400, 403), r
    assert r.error_type == "InvalidSignatureException", r
    assert "Signature expired" in r.message, r


def test_signature_twenty_minutes_ahead(wharfd):
    r = wharfd.call("ListClusters", {}, when=utcnow() + 20 * MIN)
    assert r.status in (400, 403), r
    assert r.error_type == "InvalidSignatureException", r
    assert "not yet current" in r.message, r


def test_signature_within_skew_accepted(wharfd):
    for delta in (-10 * MIN, 10 * MIN):
        r = wharfd.call("ListClusters", {}, when=utcnow() + delta)
        assert r.status == 200, (delta, r)


def test_credential_scoped_to_other_service(wharfd):
    r = wharfd.call("ListClusters", {}, service="s3")
    assert r.status in (400, 403) and r.error_type == "InvalidSignatureException", r


def test_malformed_authorization_header(wharfd):
    r = wharfd.call("ListClusters", {}, sign=False,
                    headers={"Authorization": "AWS4-HMAC-SHA256 Credential=garbage",
                             "X-Amz-Date": utcnow().strftime("%Y%m%dT%H%M%SZ")})
    assert r.status in (400, 403), r
    assert r.error_type in ("IncompleteSignatureException", "InvalidSignatureException"), r


def test_presigned_request_accepted(wharfd):
    region = "eu-west-2"  # clusters listed here are made by this test only
    name = uniq("pre")
    wharfd.client(region=region).create_cluster(clusterName=name)
    r = wharfd.call("ListClusters", raw_body=b"", region=region, presign_expires=300)
    assert r.status == 200, r
    assert cluster_arn(name, region) in r.json()["clusterArns"]


def test_presigned_request_expired(wharfd):
    r = wharfd.call("ListClusters", raw_body=b"", presign_expires=60, when=utcnow() - 20 * MIN)
    assert r.status == 403, r
    assert r.error_type == "AccessDeniedException", r
    assert "expired" in r.message.lower(), r


def test_presigned_with_wrong_secret(wharfd):
    key, _ = wharfd.profiles()["default"]
    r = wharfd.call("ListClusters", raw_body=b"", presign_expires=300,
                    creds=Credentials(key, "w" * 40))
    assert r.status in (400, 403) and r.error_type == "InvalidSignatureException", r


def test_preprovisioned_credentials_with_two_profiles(make_wharfd, tmp_path):
    data = tmp_path / "provisioned"
    data.mkdir(mode=0o700)
    text = ("# provisioned by ops\n"
            "[default]\n"
            "aws_access_key_id = AKIAPROVISIONED00001\n"
            "aws_secret_access_key = provisionedSecretNumberOne0000000000000000\n"
            "\n"
            "[ci]\n"
            "aws_access_key_id=AKIAPROVISIONED00002\n"
            "aws_secret_access_key=provisionedSecretNumberTwo0000000000000000\n")
    cred = data / "credentials"
    cred.write_text(text)
    os.chmod(cred, 0o640)
    before = cred.stat()
    d = make_wharfd(data_dir=data)
    a = d.client(profile="default")
    b = d.client(profile="ci")
    na, nb = uniq("pa"), uniq("pb")
    assert a.create_cluster(clusterName=na)["cluster"]["clusterArn"] == cluster_arn(na)
    assert b.create_cluster(clusterName=nb)["cluster"]["clusterArn"] == cluster_arn(nb)
    # Both keys see the same account's resources.
    assert sorted(a.list_clusters()["clusterArns"]) == sorted([cluster_arn(na), cluster_arn(nb)])
    assert sorted(b.list_clusters()["clusterArns"]) == sorted([cluster_arn(na), cluster_arn(nb)])
    # The CLI with --profile works too.
    out = d.cli("ecs", "list-clusters", profile="ci")
    assert sorted(out["clusterArns"]) == sorted([cluster_arn(na), cluster_arn(nb)])
    d.stop()
    after = cred.stat()
    assert cred.read_text() == text
    assert (after.st_mtime_ns, after.st_ino, stat.S_IMODE(after.st_mode)) == \
        (before.st_mtime_ns, before.st_ino, 0o640)


def test_first_start_creates_credentials(make_wharfd):
    d = make_wharfd(account=None)
    cred = d.data_dir / "credentials"
    st = cred.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    profiles = d.profiles()
    assert list(profiles) == ["default"]
    key, secret = profiles["default"]
    assert len(key) == 20 and key.isalnum() and key.isupper(), key
    assert len(secret) == 40, secret
    # The hint is printed once the listener is up, which may be just after /health answers.
    hint = f"AWS_SHARED_CREDENTIALS_FILE={d.data_dir}/credentials"
    out = wait_for(lambda: (lambda t: t if hint in t and d.url in t else None)(d.stdout_text()),
                   what="the usage hint on stdout")
    assert f"--endpoint-url {d.url}" in out, out
    # The hint works as printed, and the default account is a fixed 12-digit id.
    arns = d.cli("ecs", "list-clusters")["clusterArns"]
    assert arns == []
    c = d.client().create_cluster(clusterName="first")["cluster"]
    acct = c["clusterArn"].split(":")[4]
    assert len(acct) == 12 and acct.isdigit(), c["clusterArn"]
    # A restart keeps the same keys.
    content = cred.read_text()
    d.restart()
    assert cred.read_text() == content
    assert d.client().list_clusters()["clusterArns"] == [c["clusterArn"]]

    # Another fresh data dir makes different keys and the same default account.
    d2 = make_wharfd(account=None)
    assert d2.profiles()["default"] != profiles["default"]
    c2 = d2.client().create_cluster(clusterName="first")["cluster"]
    assert c2["clusterArn"] == c["clusterArn"]


def test_account_id_flag_sets_arns(make_wharfd):
    d = make_wharfd(account="210987654321")
    c = d.client().create_cluster(clusterName="acct")["cluster"]
    assert c["clusterArn"] == "arn:aws:ecs:us-east-1:210987654321:cluster/acct"
    assert ACCOUNT != "210987654321"
