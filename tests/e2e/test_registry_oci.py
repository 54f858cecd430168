"""The OCI Distribution v1.1 registry under /v2/: real clients (skopeo) and raw HTTP.

Images are built in the test from busybox-static (registry_helpers.Image); repositories are
made with ECR's CreateRepository and tokens with GetAuthorizationToken, as a user would."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import uniq, wait_for
from registry_helpers import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, Image,
                              Registry, basic, descriptor, index_of, login_password, oci_error,
                              read_layout_top, sha256, sha512, skopeo, write_layout)


# ---- fixtures --------------------------------------------------------------------------

@pytest.fixture
def ecr(wharfd):
    return wharfd.client("ecr", "us-east-1")


@pytest.fixture
def password(wharfd):
    return login_password(wharfd)


@pytest.fixture
def reg(wharfd, password):
    return Registry(wharfd, password)


@pytest.fixture
def repo(ecr):
    """A fresh repository with a multi-component name."""
    name = f"team/{uniq('app')}/web"
    ecr.create_repository(repositoryName=name)
    return name


SKOPEO_BIN = shutil.which("skopeo") or "skopeo"


def dest(wharfd, repo, tag):
    return f"docker://127.0.0.1:{wharfd.port}/{repo}:{tag}"


# ---- auth ------------------------------------------------------------------------------

def test_anonymous_gets_401_with_bearer_challenge(wharfd, repo):
    anon = Registry(wharfd)
    for path in ("/v2/", f"/v2/{repo}/tags/list", f"/v2/{repo}/manifests/latest"):
        r = anon.get(path)
        assert r.status == 401, r
        assert oci_error(r) == "UNAUTHORIZED"
        ch = r.headers["www-authenticate"]
        assert ch.startswith('Bearer realm="http://127.0.0.1:') and "/v2/token" in ch, ch
        assert r.headers["docker-distribution-api-version"] == "registry/2.0"


def test_basic_and_bearer_flows(wharfd, password):
    r = Registry(wharfd, password).get("/v2/")
    assert r.status == 200 and r.json() == {}
    # The Bearer flow: the token endpoint takes Basic credentials and hands back a token.
    t = Registry(wharfd, password).get("/v2/token?service=wharf&scope=repository:x/y:pull")
    assert t.status == 200, t
    tok = t.json()
    assert tok["token"] == tok["access_token"]
    assert 11 * 3600 < tok["expires_in"] <= 12 * 3600
    r = Registry(wharfd, auth="Bearer " + tok["token"]).get("/v2/")
    assert r.status == 200


@pytest.mark.parametrize("auth", [
    "Basic " + "bm90LWJhc2U2NA==",          # "not-base64" decodes but has no ':'
    basic("wharf1.AAAA.0000"),               # not a token
    "Bearer nonsense",
    "Digest whatever",
])
def test_bad_credentials_refused(wharfd, auth):
    r = Registry(wharfd, auth=auth).get("/v2/")
    assert r.status == 401 and oci_error(r) == "UNAUTHORIZED", r


def test_wrong_user_and_tampered_token_refused(wharfd, password):
    assert Registry(wharfd, auth=basic(password, user="admin")).get("/v2/").status == 401
    head, payload, mac = password.split(".")
    tampered = f"{head}.{payload}.{'0' * len(mac)}"
    r = Registry(wharfd, tampered).get("/v2/")
    assert r.status == 401 and "signature" in r.json()["errors"][0]["message"]


def test_token_region_selects_repositories(wharfd, repo, reg):
    west = Registry(wharfd, login_password(wharfd, "us-west-2"))
    assert reg.get(f"/v2/{repo}/tags/list").status == 200
    r = west.get(f"/v2/{repo}/tags/list")
    assert r.status == 404 and oci_error(r) == "NAME_UNKNOWN", r


# ---- skopeo round trips ------------------------------------------------------------------

def test_skopeo_push_pull_roundtrip(wharfd, repo, password, tmp_path):
    im = Image()
    src = write_layout(tmp_path / "src", "v1", [im])
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
           f"oci:{src}:v1", dest(wharfd, repo, "v1"))
    out = skopeo("inspect", "--tls-verify=false", "--creds", f"AWS:{password}",
                 dest(wharfd, repo, "v1"))
    info = json.loads(out.stdout)
    assert info["Digest"] == im.digest and info["RepoTags"] == ["v1"]
    assert info["Architecture"] == "amd64"
    skopeo("copy", "--src-tls-verify=false", "--src-creds", f"AWS:{password}",
           dest(wharfd, repo, "v1"), f"oci:{tmp_path / 'back'}:v1")
    mt, data, digest = read_layout_top(tmp_path / "back")
    assert digest == im.digest and data == im.manifest and mt == OCI_MANIFEST
    for b in im.blobs():
        assert (tmp_path / "back" / "blobs" / "sha256" / sha256(b)[7:]).read_bytes() == b


def test_skopeo_multiarch_index(wharfd, repo, password, tmp_path):
    ims = [Image("amd64"), Image("arm64", extra_files={"etc/arch": b"arm64\n"})]
    mt, idx = index_of(ims)
    src = write_layout(tmp_path / "src", "multi", ims, idx, mt)
    skopeo("copy", "--all", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
           f"oci:{src}:multi", dest(wharfd, repo, "multi"))
    reg = Registry(wharfd, password)
    r = reg.get(f"/v2/{repo}/manifests/multi", headers={"Accept": OCI_INDEX})
    assert r.status == 200 and r.body == idx
    assert r.headers["docker-content-digest"] == sha256(idx)
    assert r.headers["content-type"] == OCI_INDEX
    skopeo("copy", "--all", "--src-tls-verify=false", "--src-creds", f"AWS:{password}",
           dest(wharfd, repo, "multi"), f"oci:{tmp_path / 'back'}:multi")
    _, data, digest = read_layout_top(tmp_path / "back")
    assert digest == sha256(idx) and data == idx
    # One platform by its own reference.
    out = skopeo("inspect", "--override-arch", "arm64", "--tls-verify=false", "--creds",
                 f"AWS:{password}", dest(wharfd, repo, "multi"))
    info = json.loads(out.stdout)
    assert info["Architecture"] == "arm64" and info["Digest"] == sha256(idx)
    r = reg.get(f"/v2/{repo}/manifests/{ims[1].digest}")
    assert r.status == 200 and r.body == ims[1].manifest


def test_docker_schema2_manifest_and_list(wharfd, repo, reg):
    ims = [Image("amd64", docker=True), Image("arm64", docker=True)]
    for im in ims:
        reg.push_image(repo, f"d-{im.arch}", im)
    mt, lst = index_of(ims, docker=True)
    r = reg.push_manifest(repo, "list", lst, mt)
    assert r.status == 201, r
    r = reg.get(f"/v2/{repo}/manifests/list", headers={"Accept": f"{DOCKER_LIST}, {OCI_INDEX}"})
    assert r.status == 200 and r.headers["content-type"] == DOCKER_LIST and r.body == lst
    r = reg.head(f"/v2/{repo}/manifests/d-amd64", headers={"Accept": DOCKER_MANIFEST})
    assert r.status == 200 and r.body == b""
    assert int(r.headers["content-length"]) == len(ims[0].manifest)
    assert r.headers["docker-content-digest"] == ims[0].digest


def test_aws_cli_login_password_with_skopeo_login(wharfd, repo, tmp_path):
    """`aws ecr get-login-password | skopeo login -u AWS --password-stdin`, then pushes and
    pulls with the stored credentials only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(wharfd.data_dir / "credentials"),
               AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", wharfd.url, "ecr",
                        "get-login-password"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    pw = p.stdout.strip()
    authfile = tmp_path / "auth.json"
    host = f"127.0.0.1:{wharfd.port}"
    login = subprocess.run([SKOPEO_BIN, "login", "--tls-verify=false", "--authfile",
                            str(authfile), "-u", "AWS", "--password-stdin", host],
                           input=pw + "\n", capture_output=True, text=True, timeout=60)
    assert login.returncode == 0 and "Login Succeeded" in login.stdout, login.stderr
    bad = subprocess.run([SKOPEO_BIN, "login", "--tls-verify=false", "--authfile",
                          str(tmp_path / "bad.json"), "-u", "AWS", "--password-stdin", host],
                         input="wrong\n", capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    im = Image()
    src = write_layout(tmp_path / "src", "v1", [im])
    skopeo("copy", "--dest-tls-verify=false", "--dest-authfile", str(authfile),
           f"oci:{src}:v1", dest(wharfd, repo, "v1"))
    out = skopeo("inspect", "--tls-verify=false", "--authfile", str(authfile),
                 dest(wharfd, repo, "v1"))
    assert json.loads(out.stdout)["Digest"] == im.digest


def test_push_to_missing_repository_is_name_unknown(wharfd, password, tmp_path):
    name = f"nope/{uniq('x')}"
    r = Registry(wharfd, password).request("POST", f"/v2/{name}/blobs/uploads/")
    assert r.status == 404 and oci_error(r) == "NAME_UNKNOWN", r
    src = write_layout(tmp_path / "src", "v1", [Image()])
    p = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
               f"oci:{src}:v1", dest(wharfd, name, "v1"), check=False)
    assert p.returncode != 0 and "name unknown" in p.stderr.lower(), p.stderr


def test_create_repository_on_push(make_wharfd, tmp_path):
    d = make_wharfd(extra_args=["--create-repository-on-push"])
    pw = login_password(d)
    name = "made/on/push"
    src = write_layout(tmp_path / "src", "v1", [Image()])
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{pw}", f"oci:{src}:v1",
           dest(d, name, "v1"))
    repos = d.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]
    assert repos[0]["repositoryName"] == name
    # Reads never create.
    r = Registry(d, pw).get("/v2/other/repo/tags/list")
    assert r.status == 404 and oci_error(r) == "NAME_UNKNOWN"


# ---- names -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "Team/app", "team/../app", "team/%2e%2e/app", "team/%2E/app", "team//app", "team/app/",
    "-team/app", "team/app-", "a", "team/a..b", "team/a___b", "x" * 257,
])
def test_invalid_names_refused(reg, name):
    r = reg.get(f"/v2/{name}/tags/list")
    assert r.status == 400 and oci_error(r) == "NAME_INVALID", (name, r)


def test_unknown_endpoint_and_method(reg, repo):
    assert reg.get(f"/v2/{repo}/nothing/here").status == 404
    r = reg.request("POST", f"/v2/{repo}/tags/list")
    assert r.status == 405 and oci_error(r) == "UNSUPPORTED"


# ---- blobs and uploads -----------------------------------------------------------------

def start_upload(reg, repo):
    r = reg.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert r.status == 202, r
    assert r.headers["range"] == "0-0"
    loc = r.headers["location"]
    assert loc.startswith(f"/v2/{repo}/blobs/uploads/") and r.headers["docker-upload-uuid"] in loc
    return loc


def patch(reg, loc, data, start, content_range=True):
    h = {"Content-Type": "application/octet-stream"}
    if content_range:
        h["Content-Range"] = f"{start}-{start + len(data) - 1}"
    return reg.request("PATCH", loc, body=data, headers=h)


def test_chunked_upload_with_out_of_order_chunk(reg, repo):
    data = os.urandom(3 * 100_000 + 17)
    loc = start_upload(reg, repo)
    r = patch(reg, loc, data[:100_000], 0)
    assert r.status == 202 and r.headers["range"] == "0-99999", r
    # A chunk that does not start where the upload stands: 416, state unchanged.
    r = patch(reg, loc, data[200_000:300_000], 200_000)
    assert r.status == 416 and r.headers["range"] == "0-99999", r
    assert oci_error(r) == "BLOB_UPLOAD_INVALID"
    r = reg.get(loc)
    assert r.status == 204 and r.headers["range"] == "0-99999"
    r = patch(reg, loc, data[100_000:300_000], 100_000)
    assert r.headers["range"] == "0-299999"
    # The last chunk rides on the PUT (without Content-Range).
    digest = sha256(data)
    r = reg.request("PUT", f"{loc}?digest={digest}", body=data[300_000:])
    assert r.status == 201, r
    assert r.headers["location"] == f"/v2/{repo}/blobs/{digest}"
    assert r.headers["docker-content-digest"] == digest
    r = reg.head(f"/v2/{repo}/blobs/{digest}")
    assert r.status == 200 and int(r.headers["content-length"]) == len(data)
    assert r.headers["docker-content-digest"] == digest
    assert reg.get(f"/v2/{repo}/blobs/{digest}").body == data
    # The session is gone.
    assert oci_error(reg.get(loc)) == "BLOB_UPLOAD_UNKNOWN"


def test_streamed_patch_without_content_range(reg, repo):
    data = os.urandom(1 << 20)
    loc = start_upload(reg, repo)
    r = patch(reg, loc, data, 0, content_range=False)
    assert r.status == 202 and r.headers["range"] == f"0-{len(data) - 1}"
    assert reg.request("PUT", f"{loc}?digest={sha256(data)}").status == 201


def test_blob_range_requests(reg, repo):
    data = bytes(range(256)) * 40
    digest = reg.push_blob(repo, data)
    cases = [("bytes=0-9", 0, 9), ("bytes=100-", 100, len(data) - 1),
             ("bytes=-16", len(data) - 16, len(data) - 1),
             ("bytes=10000-99999", 10000, len(data) - 1)]
    for rng, a, b in cases:
        r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": rng})
        assert r.status == 206, (rng, r)
        assert r.body == data[a:b + 1], rng
        assert r.headers["content-range"] == f"bytes {a}-{b}/{len(data)}"
        assert r.headers["docker-content-digest"] == digest
        assert r.headers["content-type"] == "application/octet-stream"
    r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": f"bytes={len(data)}-"})
    assert r.status == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
    r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "lines=1-2"})
    assert r.status == 200 and r.body == data


def test_blob_errors(reg, repo):
    missing = sha256(b"never pushed")
    r = reg.get(f"/v2/{repo}/blobs/{missing}")
    assert r.status == 404 and oci_error(r) == "BLOB_UNKNOWN"
    assert reg.head(f"/v2/{repo}/blobs/{missing}").status == 404
    r = reg.get(f"/v2/{repo}/blobs/sha256:xyz")
    assert r.status == 400 and oci_error(r) == "DIGEST_INVALID"
    r = reg.get(f"/v2/{repo}/blobs/md5:" + "0" * 32)
    assert r.status == 400 and oci_error(r) == "DIGEST_INVALID"


def test_digest_mismatch_stores_nothing(wharfd, reg, repo):
    data = b"the real content"
    wrong = sha256(b"something else")
    r = reg.request("POST", f"/v2/{repo}/blobs/uploads/?digest={wrong}", body=data)
    assert r.status == 400 and oci_error(r) == "DIGEST_INVALID", r
    assert reg.head(f"/v2/{repo}/blobs/{wrong}").status == 404
    assert reg.head(f"/v2/{repo}/blobs/{sha256(data)}").status == 404
    for alg, d in (("sha256", wrong), ("sha256", sha256(data))):
        hexd = d.split(":")[1]
        assert not (wharfd.data_dir / "blobs" / alg / hexd[:2] / hexd).exists()
    # Chunked then a wrong digest on PUT: refused, the session is removed.
    loc = start_upload(reg, repo)
    patch(reg, loc, data, 0)
    r = reg.request("PUT", f"{loc}?digest={wrong}")
    assert r.status == 400 and oci_error(r) == "DIGEST_INVALID"
    assert reg.get(loc).status == 404


def test_sha512_digests(reg, repo):
    data = os.urandom(70_000)
    d512 = sha512(data)
    assert reg.push_blob(repo, data, d512) == d512  # monolithic: hashed while streaming
    r = reg.get(f"/v2/{repo}/blobs/{d512}")
    assert r.status == 200 and r.body == data and r.headers["docker-content-digest"] == d512
    data2 = os.urandom(50_000)
    loc = start_upload(reg, repo)  # chunked: the algorithm is known only at the end
    patch(reg, loc, data2, 0)
    r = reg.request("PUT", f"{loc}?digest={sha512(data2)}")
    assert r.status == 201, r
    assert reg.head(f"/v2/{repo}/blobs/{sha512(data2)}").status == 200
    r = reg.request("POST", f"/v2/{repo}/blobs/uploads/?digest={sha512(b'x')}", body=b"y")
    assert oci_error(r) == "DIGEST_INVALID"


def test_post_then_put_monolithic(reg, repo):
    data = os.urandom(4096)
    loc = start_upload(reg, repo)
    r = reg.request("PUT", f"{loc}?digest={sha256(data)}", body=data,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status == 201


def test_upload_cancel_and_put_without_digest(reg, repo):
    loc = start_upload(reg, repo)
    patch(reg, loc, b"abc", 0)
    r = reg.request("PUT", loc)
    assert r.status == 400 and oci_error(r) == "DIGEST_INVALID"
    assert reg.delete(loc).status == 204
    r = reg.get(loc)
    assert r.status == 404 and oci_error(r) == "BLOB_UPLOAD_UNKNOWN"
    r = reg.get(f"/v2/{repo}/blobs/uploads/00000000-0000-4000-8000-000000000000")
    assert r.status == 404 and oci_error(r) == "BLOB_UPLOAD_UNKNOWN"


def test_upload_belongs_to_its_repository(reg, repo, ecr):
    other = f"team/{uniq('other')}/web"
    ecr.create_repository(repositoryName=other)
    loc = start_upload(reg, repo)
    r = reg.get(loc.replace(f"/v2/{repo}/", f"/v2/{other}/"))
    assert r.status == 404 and oci_error(r) == "BLOB_UPLOAD_UNKNOWN"


def test_cross_repository_mount(reg, repo, ecr):
    data = os.urandom(10_000)
    digest = reg.push_blob(repo, data)
    other = f"team/{uniq('mount')}/web"
    ecr.create_repository(repositoryName=other)
    assert reg.head(f"/v2/{other}/blobs/{digest}").status == 404
    r = reg.request("POST", f"/v2/{other}/blobs/uploads/?mount={digest}&from={repo}")
    assert r.status == 201, r
    assert r.headers["location"] == f"/v2/{other}/blobs/{digest}"
    assert reg.get(f"/v2/{other}/blobs/{digest}").body == data
    # A blob the source does not have: an upload session starts instead (202).
    r = reg.request("POST", f"/v2/{other}/blobs/uploads/?mount={sha256(b'nope')}&from={repo}")
    assert r.status == 202 and "/blobs/uploads/" in r.headers["location"]


def test_delete_blob(reg, repo):
    digest = reg.push_blob(repo, b"to be deleted")
    r = reg.delete(f"/v2/{repo}/blobs/{digest}")
    assert r.status == 202
    assert reg.head(f"/v2/{repo}/blobs/{digest}").status == 404
    r = reg.delete(f"/v2/{repo}/blobs/{digest}")
    assert r.status == 404 and oci_error(r) == "BLOB_UNKNOWN"


# ---- manifests ---------------------------------------------------------------------------

def test_manifest_errors(reg, repo):
    im = Image()
    r = reg.push_manifest(repo, "bad", b"{not json")
    assert r.status == 400 and oci_error(r) == "MANIFEST_INVALID"
    r = reg.push_manifest(repo, "bad", json.dumps({"schemaVersion": 1}).encode())
    assert r.status == 400 and oci_error(r) == "MANIFEST_INVALID"
    r = reg.push_manifest(repo, "bad", im.manifest, "application/vnd.docker.distribution.manifest.v1+json")
    assert r.status == 400 and oci_error(r) == "MANIFEST_INVALID"
    # Blobs not pushed: MANIFEST_BLOB_UNKNOWN, nothing stored.
    r = reg.push_manifest(repo, "v1", im.manifest)
    assert r.status == 400 and oci_error(r) == "MANIFEST_BLOB_UNKNOWN", r
    assert reg.get(f"/v2/{repo}/manifests/v1").status == 404
    # Blobs present in another repository only: still unknown here.
    for b in im.blobs():
        reg.push_blob(repo, b)
    # By digest, the body must match.
    r = reg.push_manifest(repo, sha256(b"other"), im.manifest)
    assert r.status == 400 and oci_error(r) == "DIGEST_INVALID"
    r = reg.push_manifest(repo, "bad:tag", im.manifest)
    assert r.status == 400 and oci_error(r) in ("TAG_INVALID", "DIGEST_INVALID")
    r = reg.push_manifest(repo, im.digest, im.manifest)
    assert r.status == 201 and r.headers["docker-content-digest"] == im.digest
    # An index whose child is missing.
    other = Image("arm64", extra_files={"x": b"1"})
    mt, idx = index_of([im, other])
    r = reg.push_manifest(repo, "idx", idx, mt)
    assert r.status == 400 and oci_error(r) == "MANIFEST_BLOB_UNKNOWN"
    r = reg.get(f"/v2/{repo}/manifests/nosuchtag")
    assert r.status == 404 and oci_error(r) == "MANIFEST_UNKNOWN"
    r = reg.get(f"/v2/{repo}/manifests/{sha256(b'none')}")
    assert r.status == 404 and oci_error(r) == "MANIFEST_UNKNOWN"


def test_manifest_too_large(reg, repo):
    big = b'{"schemaVersion": 2, "pad": "' + b"x" * (4 << 20) + b'"}'
    r = reg.push_manifest(repo, "big", big)
    assert r.status == 413, r


def test_accept_negotiation(reg, repo):
    im = Image()
    reg.push_image(repo, "v1", im)
    r = reg.get(f"/v2/{repo}/manifests/v1", headers={"Accept": DOCKER_MANIFEST})
    assert r.status == 404 and oci_error(r) == "MANIFEST_UNKNOWN"
    for accept in (OCI_MANIFEST, f"{DOCKER_MANIFEST}, {OCI_MANIFEST}", "*/*", None):
        r = reg.get(f"/v2/{repo}/manifests/v1", headers={"Accept": accept} if accept else {})
        assert r.status == 200 and r.body == im.manifest, accept
        assert r.headers["content-type"] == OCI_MANIFEST
        assert r.headers["docker-content-digest"] == im.digest


def test_tag_moves_and_delete(reg, repo):
    a, b = Image(), Image(extra_files={"etc/b": b"b"})
    reg.push_image(repo, "latest", a)
    reg.push_image(repo, "latest", b)
    assert reg.get(f"/v2/{repo}/manifests/latest").body == b.manifest
    assert reg.get(f"/v2/{repo}/manifests/{a.digest}").status == 200  # untagged, still there
    r = reg.delete(f"/v2/{repo}/manifests/latest")  # by tag: the tag goes
    assert r.status == 202
    assert reg.get(f"/v2/{repo}/manifests/latest").status == 404
    assert reg.get(f"/v2/{repo}/manifests/{b.digest}").status == 200
    reg.push_manifest(repo, "again", b.manifest)
    assert reg.delete(f"/v2/{repo}/manifests/{b.digest}").status == 202  # by digest: all
    assert reg.get(f"/v2/{repo}/manifests/again").status == 404
    r = reg.delete(f"/v2/{repo}/manifests/{b.digest}")
    assert r.status == 404 and oci_error(r) == "MANIFEST_UNKNOWN"


def test_immutable_repository_refuses_retag(wharfd, reg, ecr):
    name = f"imm/{uniq('r')}"
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    a, b = Image(), Image(extra_files={"etc/b": b"b"})
    reg.push_image(name, "v1", a)
    assert reg.push_manifest(name, "v1", a.manifest).status == 201  # same digest: fine
    for bl in b.blobs():
        reg.push_blob(name, bl)
    r = reg.push_manifest(name, "v1", b.manifest)
    assert r.status == 400 and oci_error(r) == "TAG_INVALID", r
    msg = r.json()["errors"][0]["message"]
    assert "already exists" in msg and "immutable" in msg
    assert reg.get(f"/v2/{name}/manifests/v1").body == a.manifest


def test_tags_list_pagination(reg, repo):
    im = Image()
    reg.push_image(repo, "t0", im)
    tags = sorted(["t0", "t1", "t2", "t3", "t4", "a", "Z"])
    for t in tags:
        assert reg.push_manifest(repo, t, im.manifest).status == 201
    r = reg.get(f"/v2/{repo}/tags/list")
    assert r.json() == {"name": repo, "tags": tags}
    assert "link" not in r.headers
    got, path = [], f"/v2/{repo}/tags/list?n=3"
    while path:
        r = reg.get(path)
        assert r.status == 200
        page = r.json()["tags"]
        assert len(page) <= 3
        got += page
        link = r.headers.get("link")
        path = link[1:link.index(">")] if link else None
        if link:
            assert link.endswith('rel="next"')
    assert got == tags
    r = reg.get(f"/v2/{repo}/tags/list?n=2&last=t1")
    assert r.json()["tags"] == ["t2", "t3"]
    assert reg.get(f"/v2/{repo}/tags/list?n=0").json()["tags"] == []


def test_referrers_and_subject(reg, repo):
    subject = Image()
    reg.push_image(repo, "v1", subject)
    subj = descriptor(OCI_MANIFEST, subject.manifest)
    sig = Image(subject=subj, artifact_type="application/vnd.example.sig",
                annotations={"org.example.k": "v"}, extra_files={"sig": b"s"})
    sbom = Image(subject=subj, artifact_type="application/spdx+json", extra_files={"sbom": b"x"})
    for art in (sig, sbom):
        for b in art.blobs():
            reg.push_blob(repo, b)
        r = reg.push_manifest(repo, art.digest, art.manifest)
        assert r.status == 201, r
        assert r.headers["oci-subject"] == subject.digest
    r = reg.get(f"/v2/{repo}/referrers/{subject.digest}")
    assert r.status == 200 and r.headers["content-type"] == OCI_INDEX
    idx = r.json()
    assert idx["schemaVersion"] == 2 and idx["mediaType"] == OCI_INDEX
    by_digest = {m["digest"]: m for m in idx["manifests"]}
    assert set(by_digest) == {sig.digest, sbom.digest}
    assert by_digest[sig.digest]["artifactType"] == "application/vnd.example.sig"
    assert by_digest[sig.digest]["annotations"] == {"org.example.k": "v"}
    assert by_digest[sig.digest]["size"] == len(sig.manifest)
    r = reg.get(f"/v2/{repo}/referrers/{subject.digest}?artifactType=application/spdx%2Bjson")
    assert [m["digest"] for m in r.json()["manifests"]] == [sbom.digest]
    assert r.headers["oci-filters-applied"] == "artifactType"
    r = reg.get(f"/v2/{repo}/referrers/{sha256(b'no subject')}")
    assert r.status == 200 and r.json()["manifests"] == []
    r = reg.get(f"/v2/{repo}/referrers/notadigest")
    assert r.status == 400


# ---- durability and memory ----------------------------------------------------------------

def blob_files(data_dir):
    root = Path(data_dir) / "blobs"
    return {p.name for p in root.rglob("*") if p.is_file()}


def test_resume_upload_after_restart(make_wharfd):
    d = make_wharfd()
    ecr = d.client("ecr")
    ecr.create_repository(repositoryName="resume/me")
    reg = Registry(d, login_password(d))
    data = os.urandom(600_000)
    loc = start_upload(reg, "resume/me")
    assert patch(reg, loc, data[:250_000], 0).status == 202
    d.restart(kill=True)
    reg = Registry(d, login_password(d))
    r = reg.get(loc)
    assert r.status == 204 and r.headers["range"] == "0-249999", r
    assert patch(reg, loc, data[250_000:], 250_000).status == 202
    r = reg.request("PUT", f"{loc}?digest={sha256(data)}")
    assert r.status == 201, r
    assert reg.get(f"/v2/resume/me/blobs/{sha256(data)}").body == data


def slow_post(port, path, auth, total, sent, stop):
    """Send headers for a total-byte body, then `sent` bytes, then wait for stop."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
               f"Content-Type: application/octet-stream\r\nContent-Length: {total}\r\n\r\n")
              .encode())
    chunk = b"z" * 65536
    n = 0
    try:
        while n < sent:
            s.sendall(chunk)
            n += len(chunk)
        stop.wait(30)
    except OSError:
        pass  # the daemon was killed under us: that is the point
    finally:
        s.close()


def test_kill9_during_push_leaves_no_partial_blob(make_wharfd, tmp_path):
    d = make_wharfd()
    d.client("ecr").create_repository(repositoryName="crash/test")
    pw = login_password(d)
    total = 64 << 20
    data = b"z" * total
    digest = sha256(data)
    stop = threading.Event()
    t = threading.Thread(target=slow_post, daemon=True,
                         args=(d.port, f"/v2/crash/test/blobs/uploads/?digest={digest}",
                               basic(pw), total, 16 << 20, stop))
    t.start()
    uploads = d.data_dir / "uploads"
    wait_for(lambda: any(p.stat().st_size > (8 << 20) for p in uploads.iterdir()), timeout=20,
             what="the upload to be under way")
    d.kill9()
    stop.set()
    t.join()
    assert digest.split(":")[1] not in blob_files(d.data_dir)
    d.start()
    reg = Registry(d, login_password(d))
    assert reg.head(f"/v2/crash/test/blobs/{digest}").status == 404
    # A re-push (skopeo) succeeds.
    im = Image()
    src = write_layout(tmp_path / "src", "v1", [im])
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{login_password(d)}",
           f"oci:{src}:v1", dest(d, "crash/test", "v1"))
    assert reg.get("/v2/crash/test/manifests/v1").body == im.manifest
    assert reg.push_blob("crash/test", data) == digest


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_large_upload_keeps_rss_flat(make_wharfd):
    """A 2 GiB blob streamed through a monolithic POST: wharfd's RSS must not grow with it."""
    d = make_wharfd()
    d.client("ecr").create_repository(repositoryName="big/layer")
    reg = Registry(d, login_password(d))
    block = os.urandom(1 << 20)
    total_blocks = 2048
    h = hashlib.sha256()
    for _ in range(total_blocks):
        h.update(block)
    digest = "sha256:" + h.hexdigest()
    base = rss_kib(d.proc.pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(d.proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def body():
        for _ in range(total_blocks):
            yield block

    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=300)
    conn.putrequest("POST", f"/v2/big/layer/blobs/uploads/?digest={digest}")
    conn.putheader("Authorization", reg.auth)
    conn.putheader("Content-Length", str(total_blocks << 20))
    conn.endheaders()
    for b in body():
        conn.send(b)
    r = conn.getresponse()
    r.read()
    done.set()
    sampler.join()
    assert r.status == 201
    growth_mib = (peak[0] - base) / 1024
    print(f"RSS before {base} KiB, peak {peak[0]} KiB, growth {growth_mib:.1f} MiB for 2 GiB")
    assert growth_mib < 64, f"RSS grew by {growth_mib:.1f} MiB while streaming 2 GiB"
    r = reg.head(f"/v2/big/layer/blobs/{digest}")
    assert r.status == 200 and int(r.headers["content-length"]) == total_blocks << 20


# ---- garbage collection --------------------------------------------------------------------

def blob_path(data_dir, digest):
    alg, hexd = digest.split(":")
    return Path(data_dir) / "blobs" / alg / hexd[:2] / hexd


GC_ARGS = ["--registry-gc-interval", "0.2", "--registry-gc-grace", "2"]


def test_gc_removes_unreferenced_blobs_only(make_wharfd):
    d = make_wharfd(extra_args=GC_ARGS)
    d.client("ecr").create_repository(repositoryName="gc/repo")
    reg = Registry(d, login_password(d))
    loose = reg.push_blob("gc/repo", os.urandom(1000))
    im = Image()
    reg.push_image("gc/repo", "v1", im)
    assert blob_path(d.data_dir, loose).exists()
    wait_for(lambda: not blob_path(d.data_dir, loose).exists(), timeout=15,
             what="the unreferenced blob to be collected")
    assert reg.head(f"/v2/gc/repo/blobs/{loose}").status == 404
    time.sleep(1)
    for b in im.blobs():
        assert blob_path(d.data_dir, sha256(b)).exists()
        assert reg.get(f"/v2/gc/repo/blobs/{sha256(b)}").body == b
    # Deleting the image leaves its blobs unreferenced: they go after the grace period.
    assert reg.delete(f"/v2/gc/repo/manifests/{im.digest}").status == 202
    wait_for(lambda: not any(blob_path(d.data_dir, sha256(b)).exists() for b in im.blobs()),
             timeout=15, what="the deleted image's blobs to be collected")


def test_gc_races_pushes(make_wharfd):
    """Clients that push layers, wait around the grace period, check (HEAD) and push the
    manifest: every manifest push succeeds while the collector runs every 0.2 s."""
    d = make_wharfd(extra_args=GC_ARGS)
    d.client("ecr").create_repository(repositoryName="gc/race")
    pw = login_password(d)
    failures = []

    def client(i):
        reg = Registry(d, pw)
        im = Image(extra_files={f"etc/{i}": os.urandom(64)})
        for b in im.blobs():
            reg.push_blob("gc/race", b)
        time.sleep((i % 7) * 0.5)  # 0 .. 3 s: before and after the grace period
        for b in im.blobs():      # what skopeo does before pushing a manifest
            if reg.head(f"/v2/gc/race/blobs/{sha256(b)}").status == 404:
                reg.push_blob("gc/race", b)
        r = reg.push_manifest("gc/race", f"t{i}", im.manifest)
        if r.status != 201:
            failures.append((i, r))
            return
        for b in im.blobs():
            if reg.get(f"/v2/gc/race/blobs/{sha256(b)}").body != b:
                failures.append((i, "blob lost after push"))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(14)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    time.sleep(3)  # past the grace period: referenced blobs all stay
    reg = Registry(d, pw)
    assert len(reg.get("/v2/gc/race/tags/list").json()["tags"]) == 14
    d.stop()
    # The collector did collect during the run (the clients that slept past the grace period
    # found their layers gone and pushed them again).
    assert "registry gc: removed blob" in d.stderr_text()


def test_repository_policy_enforced_on_v2(wharfd, reg, ecr):
    name = f"pol/{uniq('r')}"
    ecr.create_repository(repositoryName=name)
    im = Image()
    reg.push_image(name, "v1", im)
    pull_only = {"Version": "2012-10-17", "Statement": [{
        "Sid": "pull", "Effect": "Allow", "Principal": "*",
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                   "ecr:BatchCheckLayerAvailability", "ecr:ListImages"]}]}
    ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(pull_only))
    assert reg.get(f"/v2/{name}/manifests/v1").status == 200
    assert reg.head(f"/v2/{name}/blobs/{sha256(im.config)}").status == 200
    r = reg.request("POST", f"/v2/{name}/blobs/uploads/")
    assert r.status == 403 and oci_error(r) == "DENIED", r
    assert "ecr:InitiateLayerUpload" in r.json()["errors"][0]["message"]
    r = reg.push_manifest(name, "v2", im.manifest)
    assert r.status == 403 and oci_error(r) == "DENIED"
    deny_pull = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage"}]}
    ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(deny_pull))
    r = reg.get(f"/v2/{name}/manifests/v1")
    assert r.status == 403 and oci_error(r) == "DENIED"
    ecr.delete_repository_policy(repositoryName=name)
    assert reg.get(f"/v2/{name}/manifests/v1").status == 200
