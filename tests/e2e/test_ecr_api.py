"""The ECR API (AmazonEC2ContainerRegistry_V20150921.*) with boto3 and the AWS CLI v2:
repositories, images, the layer-upload API, authorization tokens, repository policies
(validation and enforcement), lifecycle policies (validation, preview, on-demand and scheduled
enforcement), tags and DescribeRegistry.

Images are pushed through the ECR layer-upload API + PutImage (no other component needed); a
few tests cross over to /v2/ (registry_helpers) to check that both APIs see one registry."""
import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import time

import pytest

from conftest import ACCOUNT, ROOT_ARN, UUID_RE, expect_error, uniq, wait_for
from registry_helpers import Registry, login_password, oci_error

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
INVALID = "InvalidParameterException"
OTHER_ROOT = "arn:aws:iam::210987654321:root"
DAY = 86400


# ---- helpers ---------------------------------------------------------------------------

def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def ecr(wharfd):
    return wharfd.client("ecr", "us-east-1")


@pytest.fixture
def repo(ecr):
    name = uniq("ecr") + "/app"
    ecr.create_repository(repositoryName=name)
    return name


def push_layer(ecr, repo, data, part=None):
    """InitiateLayerUpload / UploadLayerPart (in parts of `part` bytes) / CompleteLayerUpload."""
    up = ecr.initiate_layer_upload(repositoryName=repo)
    part = part or len(data)
    for first in range(0, len(data), part):
        chunk = data[first:first + part]
        r = ecr.upload_layer_part(repositoryName=repo, uploadId=up["uploadId"],
                                  partFirstByte=first, partLastByte=first + len(chunk) - 1,
                                  layerPartBlob=chunk)
        assert r["lastByteReceived"] == first + len(chunk) - 1
    digest = sha256(data)
    r = ecr.complete_layer_upload(repositoryName=repo, uploadId=up["uploadId"],
                                  layerDigests=[digest])
    assert r["layerDigest"] == digest
    return digest


class Img:
    """A small image with unique content: a config blob, one layer, its manifest."""

    def __init__(self, seed=None, docker=False, layer_size=1000):
        seed = seed or uniq("seed")
        self.config = json.dumps({"architecture": "amd64", "os": "linux",
                                  "rootfs": {"type": "layers", "diff_ids": []},
                                  "seed": seed}).encode()
        self.layer = (seed.encode() * (layer_size // len(seed) + 1))[:layer_size]
        self.media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": self.media_type,
            "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                       "digest": sha256(self.config), "size": len(self.config)},
            "layers": [{"mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                        "digest": sha256(self.layer), "size": len(self.layer)}],
        }, indent=1)
        self.digest = sha256(self.manifest.encode())
        self.size = len(self.config) + len(self.layer)

    def push(self, ecr, repo, tag=None):
        for blob in (self.config, self.layer):
            if ecr.batch_check_layer_availability(repositoryName=repo,
                                                  layerDigests=[sha256(blob)])["layers"]:
                continue
            push_layer(ecr, repo, blob)
        args = dict(repositoryName=repo, imageManifest=self.manifest)
        if tag:
            args["imageTag"] = tag
        return ecr.put_image(**args)["image"]


def index_body(images):
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": im.media_type, "digest": im.digest, "size": len(im.manifest),
         "platform": {"architecture": "amd64", "os": "linux"}} for im in images]})


def image_ids(ecr, repo, **kw):
    return ecr.list_images(repositoryName=repo, **kw)["imageIds"]


def digests(details):
    return {d["imageDigest"] for d in details}


def ecr_call(wharfd, action, body, region="us-east-1"):
    """A raw signed ECR request (for wharf's own WharfApplyLifecyclePolicy)."""
    return wharfd.call(target=f"{ECR_TARGET}.{action}", body=body, region=region,
                       service="ecr")


def lifecycle(*rules):
    return json.dumps({"rules": [dict(r, rulePriority=i + 1, action={"type": "expire"})
                                 if "rulePriority" not in r else dict(r, action={"type": "expire"})
                                 for i, r in enumerate(rules)]})


def rule(tag_status, count_type="imageCountMoreThan", n=1, prefixes=None, patterns=None,
         priority=None):
    sel = {"tagStatus": tag_status, "countType": count_type, "countNumber": n}
    if count_type == "sinceImagePushed":
        sel["countUnit"] = "days"
    if prefixes:
        sel["tagPrefixList"] = prefixes
    if patterns:
        sel["tagPatternList"] = patterns
    r = {"selection": sel}
    if priority:
        r["rulePriority"] = priority
    return r


# ---- repositories ----------------------------------------------------------------------

def test_create_repository_shape(wharfd, ecr):
    name = uniq("shape")
    before = time.time()
    r = ecr.create_repository(repositoryName=name)["repository"]
    assert r["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}"
    assert r["registryId"] == ACCOUNT
    assert r["repositoryName"] == name
    assert r["repositoryUri"] == f"127.0.0.1:{wharfd.port}/{name}"
    assert r["imageTagMutability"] == "MUTABLE"
    assert r["imageScanningConfiguration"] == {"scanOnPush": False}
    assert r["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert before - 2 <= r["createdAt"].timestamp() <= time.time() + 2
    # Describe shows the very same document.
    d = ecr.describe_repositories(repositoryNames=[name])["repositories"]
    assert d == [r]


def test_create_repository_options(ecr):
    name = uniq("opts") + "/team/web"
    r = ecr.create_repository(
        repositoryName=name, imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:"
                                 f"{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
        tags=[{"Key": "team", "Value": "web"}, {"Key": "env", "Value": ""}])["repository"]
    assert r["imageTagMutability"] == "IMMUTABLE"
    assert r["imageScanningConfiguration"] == {"scanOnPush": True}
    assert r["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert r["encryptionConfiguration"]["kmsKey"].endswith("1234567890ab")
    tags = ecr.list_tags_for_resource(resourceArn=r["repositoryArn"])["tags"]
    assert tags == [{"Key": "env", "Value": ""}, {"Key": "team", "Value": "web"}]


def test_create_repository_with_exclusions(wharfd):
    # Debian's botocore predates the *_WITH_EXCLUSION settings: raw requests.
    name = uniq("excl")
    filters = [{"filterType": "WILDCARD", "filter": "latest"}]
    r = ecr_call(wharfd, "CreateRepository", {
        "repositoryName": name, "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": filters})
    assert r.status == 200, r
    repo = r.json()["repository"]
    assert repo["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == filters
    for body in ({"imageTagMutability": "IMMUTABLE", "imageTagMutabilityExclusionFilters":
                  filters},
                 {"imageTagMutability": "MUTABLE_WITH_EXCLUSION"}):
        r = ecr_call(wharfd, "CreateRepository", dict(body, repositoryName=uniq("ex")))
        assert r.status == 400 and r.error_type == INVALID, r
        assert "imageTagMutabilityExclusionFilters" in r.message


def test_create_repository_errors(ecr):
    name = uniq("dup")
    ecr.create_repository(repositoryName=name)
    msg = expect_error("RepositoryAlreadyExistsException", ecr.create_repository,
                       repositoryName=name)
    assert name in msg and ACCOUNT in msg
    expect_error(INVALID, ecr.create_repository, repositoryName="Upper/Case")
    expect_error(INVALID, ecr.create_repository, repositoryName="a/../b")
    msg = expect_error(INVALID, ecr.create_repository, repositoryName=uniq("kms"),
                       encryptionConfiguration={"encryptionType": "AES256", "kmsKey": "k"})
    assert "kmsKey" in msg
    expect_error(INVALID, ecr.create_repository, repositoryName=uniq("reg"),
                 registryId="999999999999")
    msg = expect_error("InvalidTagParameterException", ecr.create_repository,
                       repositoryName=uniq("tag"), tags=[{"Key": "aws:x", "Value": "v"}])
    assert "tags[0].Key" in msg
    expect_error("TooManyTagsException", ecr.create_repository, repositoryName=uniq("tag"),
                 tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    # Nothing of the refused requests was created.
    names = [r["repositoryName"] for r in
             ecr.describe_repositories()["repositories"]]
    assert not [n for n in names if n.startswith(("kms-", "ex-", "tag-", "reg-"))]


def test_describe_repositories_by_name(ecr):
    a, b = uniq("da"), uniq("db")
    ecr.create_repository(repositoryName=a)
    ecr.create_repository(repositoryName=b)
    got = ecr.describe_repositories(repositoryNames=[b, a])["repositories"]
    assert [r["repositoryName"] for r in got] == [b, a]
    msg = expect_error("RepositoryNotFoundException", ecr.describe_repositories,
                       repositoryNames=[a, "nope-" + a])
    assert f"'nope-{a}'" in msg and ACCOUNT in msg
    expect_error(INVALID, ecr.describe_repositories, repositoryNames=[a], maxResults=5)


def test_describe_repositories_pagination(wharfd):
    ecr = wharfd.client("ecr", "ap-southeast-4")
    names = sorted(uniq("pg") for _ in range(7))
    for n in names:
        ecr.create_repository(repositoryName=n)
    seen, token, pages = [], None, 0
    while True:
        kw = {"maxResults": 3}
        if token:
            kw["nextToken"] = token
        r = ecr.describe_repositories(**kw)
        assert len(r["repositories"]) <= 3
        seen += [x["repositoryName"] for x in r["repositories"]]
        pages += 1
        token = r.get("nextToken")
        if not token:
            break
    assert [n for n in seen if n in names] == names
    assert pages >= 3
    # The paginator of boto3 walks the same pages.
    p = ecr.get_paginator("describe_repositories")
    all_names = [x["repositoryName"] for page in p.paginate(PaginationConfig={"PageSize": 2})
                 for x in page["repositories"]]
    assert [n for n in all_names if n in names] == names
    expect_error(INVALID, ecr.describe_repositories, nextToken="garbage")
    # Regions are separate registries.
    other = wharfd.client("ecr", "us-east-1").describe_repositories()["repositories"]
    assert not set(names) & {r["repositoryName"] for r in other}


def test_delete_repository(ecr):
    name = uniq("del")
    arn = ecr.create_repository(repositoryName=name, tags=[{"Key": "a", "Value": "1"}])[
        "repository"]["repositoryArn"]
    Img().push(ecr, name, "v1")
    msg = expect_error("RepositoryNotEmptyException", ecr.delete_repository, repositoryName=name)
    assert name in msg
    r = ecr.delete_repository(repositoryName=name, force=True)["repository"]
    assert r["repositoryName"] == name and r["repositoryArn"] == arn
    expect_error("RepositoryNotFoundException", ecr.delete_repository, repositoryName=name)
    expect_error("RepositoryNotFoundException", ecr.describe_repositories,
                 repositoryNames=[name])
    # A new repository of the same name starts empty, without the old tags.
    ecr.create_repository(repositoryName=name)
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == []
    assert image_ids(ecr, name) == []
    ecr.delete_repository(repositoryName=name)  # empty: no force needed


# ---- layers ----------------------------------------------------------------------------

def test_layer_upload_in_parts(wharfd, ecr, repo):
    data = bytes(range(256)) * 4000  # 1 MB
    up = ecr.initiate_layer_upload(repositoryName=repo)
    assert UUID_RE.match(up["uploadId"])
    assert 0 < up["partSize"] <= 3 << 20
    digest = push_layer(ecr, repo, data, part=300_000)
    r = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])
    assert r["layers"] == [{"layerDigest": digest, "layerAvailability": "AVAILABLE",
                            "layerSize": len(data)}]
    assert r["failures"] == []
    # The download URL serves the bytes (with the registry's credentials).
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)
    assert url["layerDigest"] == digest
    assert url["downloadUrl"] == f"http://127.0.0.1:{wharfd.port}/v2/{repo}/blobs/{digest}"
    reg = Registry(wharfd, login_password(wharfd))
    got = reg.get(f"/v2/{repo}/blobs/{digest}")
    assert got.status == 200 and got.body == data


def test_layer_upload_errors(ecr, repo):
    up = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    # A part that does not start where the upload stands.
    msg = expect_error("InvalidLayerPartException", ecr.upload_layer_part, repositoryName=repo,
                       uploadId=up, partFirstByte=5, partLastByte=9, layerPartBlob=b"hello")
    assert "0" in msg
    # partLastByte must match the part's length.
    expect_error("InvalidLayerPartException", ecr.upload_layer_part, repositoryName=repo,
                 uploadId=up, partFirstByte=0, partLastByte=99, layerPartBlob=b"hello")
    # Nothing was appended: completing is an empty upload.
    expect_error("EmptyUploadException", ecr.complete_layer_upload, repositoryName=repo,
                 uploadId=up, layerDigests=[sha256(b"")])
    ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=0, partLastByte=4,
                          layerPartBlob=b"hello")
    # The wrong digest: InvalidLayerException, and the upload is gone.
    expect_error("InvalidLayerException", ecr.complete_layer_upload, repositoryName=repo,
                 uploadId=up, layerDigests=[sha256(b"other")])
    expect_error("InvalidLayerException", ecr.complete_layer_upload, repositoryName=repo,
                 uploadId=up, layerDigests=["md5:0123abcd"])
    unknown = "00000000-0000-4000-8000-000000000000"
    expect_error("UploadNotFoundException", ecr.upload_layer_part, repositoryName=repo,
                 uploadId=unknown, partFirstByte=0, partLastByte=0, layerPartBlob=b"x")
    expect_error("UploadNotFoundException", ecr.complete_layer_upload, repositoryName=repo,
                 uploadId=unknown, layerDigests=[sha256(b"x")])
    # An upload of another repository is not found here.
    other = uniq("other")
    ecr.create_repository(repositoryName=other)
    up2 = ecr.initiate_layer_upload(repositoryName=other)["uploadId"]
    expect_error("UploadNotFoundException", ecr.upload_layer_part, repositoryName=repo,
                 uploadId=up2, partFirstByte=0, partLastByte=0, layerPartBlob=b"x")
    # A layer the repository has: LayerAlreadyExistsException.
    digest = push_layer(ecr, repo, b"some layer")
    up3 = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=up3, partFirstByte=0, partLastByte=9,
                          layerPartBlob=b"some layer")
    expect_error("LayerAlreadyExistsException", ecr.complete_layer_upload, repositoryName=repo,
                 uploadId=up3, layerDigests=[digest])
    expect_error("RepositoryNotFoundException", ecr.initiate_layer_upload,
                 repositoryName="nope-" + repo)


def test_layer_availability_and_download_errors(ecr, repo):
    have = push_layer(ecr, repo, b"layer-a")
    missing = sha256(b"never pushed")
    r = ecr.batch_check_layer_availability(repositoryName=repo,
                                           layerDigests=[have, missing, "sha256:zz"])
    assert [l["layerDigest"] for l in r["layers"]] == [have]
    fails = {f["layerDigest"]: f["failureCode"] for f in r["failures"]}
    assert fails == {missing: "MissingLayerDigest", "sha256:zz": "InvalidLayerDigest"}
    expect_error("LayersNotFoundException", ecr.get_download_url_for_layer,
                 repositoryName=repo, layerDigest=missing)
    # Blobs are per repository: another repository does not see this one's layer.
    other = uniq("other")
    ecr.create_repository(repositoryName=other)
    assert ecr.batch_check_layer_availability(repositoryName=other,
                                              layerDigests=[have])["layers"] == []


# ---- images ----------------------------------------------------------------------------

def test_put_image_and_describe(ecr, repo):
    im = Img()
    before = time.time()
    out = im.push(ecr, repo, "v1")
    assert out == {"registryId": ACCOUNT, "repositoryName": repo,
                   "imageId": {"imageDigest": im.digest, "imageTag": "v1"},
                   "imageManifest": im.manifest, "imageManifestMediaType": OCI_MANIFEST}
    d = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert len(d) == 1
    d = d[0]
    assert d["registryId"] == ACCOUNT and d["repositoryName"] == repo
    assert d["imageDigest"] == im.digest
    assert d["imageTags"] == ["v1"]
    assert d["imageSizeInBytes"] == im.size
    assert before - 2 <= d["imagePushedAt"].timestamp() <= time.time() + 2
    assert d["imageManifestMediaType"] == OCI_MANIFEST
    assert d["artifactMediaType"] == OCI_CONFIG
    assert "lastRecordedPullTime" not in d
    # A pull through BatchGetImage records lastRecordedPullTime.
    ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    d = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["imageDetails"]
    assert "lastRecordedPullTime" in d[0]


def test_put_image_tags_and_errors(ecr, repo):
    im = Img()
    im.push(ecr, repo, "v1")
    # Same digest, same tag: nothing to do.
    msg = expect_error("ImageAlreadyExistsException", ecr.put_image, repositoryName=repo,
                       imageManifest=im.manifest, imageTag="v1")
    assert im.digest in msg and "v1" in msg
    # Same digest, another tag: the image gains a tag.
    ecr.put_image(repositoryName=repo, imageManifest=im.manifest, imageTag="v2")
    d = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert len(d) == 1 and d[0]["imageTags"] == ["v1", "v2"]
    # A mutable tag moves.
    im2 = Img()
    im2.push(ecr, repo, "v2")
    tags = {x["imageDigest"]: x.get("imageTags") for x in
            ecr.describe_images(repositoryName=repo)["imageDetails"]}
    assert tags == {im.digest: ["v1"], im2.digest: ["v2"]}
    # imageDigest must match the manifest.
    im3 = Img()
    for blob in (im3.config, im3.layer):
        push_layer(ecr, repo, blob)
    expect_error("ImageDigestDoesNotMatchException", ecr.put_image, repositoryName=repo,
                 imageManifest=im3.manifest, imageDigest=im.digest)
    r = ecr.put_image(repositoryName=repo, imageManifest=im3.manifest, imageDigest=im3.digest)
    assert r["image"]["imageId"] == {"imageDigest": im3.digest}
    # Layers the repository lacks.
    im4 = Img()
    msg = expect_error("LayersNotFoundException", ecr.put_image, repositoryName=repo,
                       imageManifest=im4.manifest, imageTag="v4")
    assert sha256(im4.layer) in msg and sha256(im4.config) in msg
    expect_error(INVALID, ecr.put_image, repositoryName=repo, imageManifest="{not json",
                 imageTag="bad")
    expect_error(INVALID, ecr.put_image, repositoryName=repo, imageManifest=im.manifest,
                 imageTag="bad tag!")
    expect_error("RepositoryNotFoundException", ecr.put_image, repositoryName="nope-" + repo,
                 imageManifest=im.manifest, imageTag="v1")


def test_put_image_index(ecr, repo):
    a, b = Img(), Img()
    a.push(ecr, repo)
    body = index_body([a, b])
    expect_error("ReferencedImagesNotFoundException", ecr.put_image, repositoryName=repo,
                 imageManifest=body, imageTag="multi")
    b.push(ecr, repo)
    r = ecr.put_image(repositoryName=repo, imageManifest=body, imageTag="multi")["image"]
    assert r["imageManifestMediaType"] == OCI_INDEX
    d = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "multi"}])["imageDetails"]
    assert d[0]["imageManifestMediaType"] == OCI_INDEX
    assert d[0]["imageSizeInBytes"] == a.size + b.size
    # A child of the index cannot be deleted on its own.
    r = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": a.digest}])
    assert r["imageIds"] == []
    assert r["failures"][0]["failureCode"] == "ImageReferencedByManifestList"
    # Deleting the index first frees its children.
    r = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "multi"},
                                                              {"imageDigest": a.digest}])
    assert r["failures"] == []
    assert digests(ecr.describe_images(repositoryName=repo)["imageDetails"]) == {b.digest}


def test_immutable_tags(wharfd, ecr):
    name = uniq("immut")
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    a, b = Img(), Img()
    a.push(ecr, name, "v1")
    msg = expect_error("ImageTagAlreadyExistsException", b.push, ecr, name, "v1")
    assert "'v1'" in msg and "immutable" in msg
    # The tag did not move; b was not stored under it.
    got = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "v1"}])["images"]
    assert got[0]["imageId"]["imageDigest"] == a.digest
    # A second tag on the same image is fine.
    ecr.put_image(repositoryName=name, imageManifest=a.manifest, imageTag="stable")
    # /v2/ pushes obey the same setting.
    reg = Registry(wharfd, login_password(wharfd))
    r = reg.push_manifest(name, "v1", b.manifest.encode(), b.media_type)
    assert r.status >= 400
    # PutImageTagMutability: back to MUTABLE and the retag succeeds.
    out = ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="MUTABLE")
    assert out == {"registryId": ACCOUNT, "repositoryName": name,
                   "imageTagMutability": "MUTABLE", "ResponseMetadata": out["ResponseMetadata"]}
    ecr.put_image(repositoryName=name, imageManifest=b.manifest, imageTag="v1")
    got = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "v1"}])["images"]
    assert got[0]["imageId"]["imageDigest"] == b.digest


def test_immutable_with_exclusion(wharfd, ecr):
    name = uniq("immx")
    ecr.create_repository(repositoryName=name)
    r = ecr_call(wharfd, "PutImageTagMutability", {
        "repositoryName": name, "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"},
                                               {"filterType": "WILDCARD", "filter": "dev-*"}]})
    assert r.status == 200, r
    assert len(r.json()["imageTagMutabilityExclusionFilters"]) == 2
    a, b = Img(), Img()
    a.push(ecr, name, "latest")
    for t in ("dev-1", "v1"):
        ecr.put_image(repositoryName=name, imageManifest=a.manifest, imageTag=t)
    b.push(ecr, name, "latest")  # excluded: mutable
    ecr.put_image(repositoryName=name, imageManifest=b.manifest, imageTag="dev-1")
    expect_error("ImageTagAlreadyExistsException", ecr.put_image, repositoryName=name,
                 imageManifest=b.manifest, imageTag="v1")
    r = ecr_call(wharfd, "DescribeRepositories", {"repositoryNames": [name]})
    repo = r.json()["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert len(repo["imageTagMutabilityExclusionFilters"]) == 2
    r = ecr_call(wharfd, "PutImageTagMutability", {
        "repositoryName": name, "imageTagMutability": "MUTABLE_WITH_EXCLUSION"})
    assert r.status == 400 and r.error_type == INVALID
    expect_error("RepositoryNotFoundException", ecr.put_image_tag_mutability,
                 repositoryName="nope-" + name, imageTagMutability="MUTABLE")


def test_list_images_filters_and_pages(ecr, repo):
    tagged = [Img() for _ in range(3)]
    for i, im in enumerate(tagged):
        im.push(ecr, repo, f"t{i}")
    ecr.put_image(repositoryName=repo, imageManifest=tagged[0].manifest, imageTag="extra")
    untagged = [Img() for _ in range(2)]
    for im in untagged:
        im.push(ecr, repo)
    ids = image_ids(ecr, repo)
    assert len(ids) == 6  # one entry per tag, one per untagged image
    assert {"imageDigest": tagged[0].digest, "imageTag": "extra"} in ids
    assert {"imageDigest": untagged[0].digest} in ids
    t = image_ids(ecr, repo, filter={"tagStatus": "TAGGED"})
    assert {i["imageDigest"] for i in t} == {im.digest for im in tagged}
    u = image_ids(ecr, repo, filter={"tagStatus": "UNTAGGED"})
    assert u == sorted([{"imageDigest": im.digest} for im in untagged],
                       key=lambda x: x["imageDigest"])
    assert len(image_ids(ecr, repo, filter={"tagStatus": "ANY"})) == 6
    # Pages of one image each walk every image once.
    seen, token = [], None
    while True:
        kw = {"maxResults": 1}
        if token:
            kw["nextToken"] = token
        r = ecr.list_images(repositoryName=repo, **kw)
        seen.append({i["imageDigest"] for i in r["imageIds"]})
        token = r.get("nextToken")
        if not token:
            break
    assert all(len(s) == 1 for s in seen) and len(seen) == 5
    assert set().union(*seen) == {im.digest for im in tagged + untagged}
    # DescribeImages pages and filters the same way.
    p = ecr.get_paginator("describe_images")
    all_d = [d for page in p.paginate(repositoryName=repo, PaginationConfig={"PageSize": 2})
             for d in page["imageDetails"]]
    assert len(all_d) == 5
    u = ecr.describe_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})
    assert digests(u["imageDetails"]) == {im.digest for im in untagged}
    assert all("imageTags" not in d for d in u["imageDetails"])
    expect_error("RepositoryNotFoundException", ecr.list_images, repositoryName="nope-" + repo)


def test_describe_images_by_id(ecr, repo):
    a, b = Img(), Img(docker=True)
    a.push(ecr, repo, "a")
    b.push(ecr, repo, "b")
    d = ecr.describe_images(repositoryName=repo,
                            imageIds=[{"imageTag": "b"}, {"imageDigest": a.digest},
                                      {"imageTag": "a", "imageDigest": a.digest}])["imageDetails"]
    assert [x["imageDigest"] for x in d] == [b.digest, a.digest]
    assert d[0]["imageManifestMediaType"] == DOCKER_MANIFEST
    msg = expect_error("ImageNotFoundException", ecr.describe_images, repositoryName=repo,
                       imageIds=[{"imageTag": "a"}, {"imageTag": "nope"}])
    assert "nope" in msg and repo in msg
    expect_error("ImageNotFoundException", ecr.describe_images, repositoryName=repo,
                 imageIds=[{"imageDigest": sha256(b"x")}])
    expect_error("ImageNotFoundException", ecr.describe_images, repositoryName=repo,
                 imageIds=[{"imageTag": "a", "imageDigest": b.digest}])


def test_batch_get_image(ecr, repo):
    a, b = Img(), Img(docker=True)
    a.push(ecr, repo, "a")
    b.push(ecr, repo, "b")
    r = ecr.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "a"}, {"imageDigest": b.digest}, {"imageTag": "missing"},
        {"imageTag": "a", "imageDigest": b.digest}, {}, {"imageDigest": "sha256:bad"}])
    imgs = r["images"]
    assert [i["imageId"] for i in imgs] == [{"imageDigest": a.digest, "imageTag": "a"},
                                            {"imageDigest": b.digest}]
    assert imgs[0]["imageManifest"] == a.manifest
    assert imgs[0]["imageManifestMediaType"] == OCI_MANIFEST
    assert imgs[1]["imageManifestMediaType"] == DOCKER_MANIFEST
    assert imgs[0]["registryId"] == ACCOUNT and imgs[0]["repositoryName"] == repo
    codes = [f["failureCode"] for f in r["failures"]]
    assert codes == ["ImageNotFound", "ImageTagDoesNotMatchDigest", "MissingDigestAndTag",
                     "InvalidImageDigest"]
    assert r["failures"][0]["imageId"] == {"imageTag": "missing"}
    # acceptedMediaTypes: an image of another type is a failure.
    r = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "a"}, {"imageTag": "b"}],
                            acceptedMediaTypes=[DOCKER_MANIFEST])
    assert [i["imageId"]["imageTag"] for i in r["images"]] == ["b"]
    assert r["failures"][0]["imageId"] == {"imageTag": "a"}
    assert OCI_MANIFEST in r["failures"][0]["failureReason"]


def test_batch_delete_image(ecr, repo):
    a, b, c = Img(), Img(), Img()
    a.push(ecr, repo, "a1")
    ecr.put_image(repositoryName=repo, imageManifest=a.manifest, imageTag="a2")
    b.push(ecr, repo, "b")
    c.push(ecr, repo)
    # By tag: the tag goes; the image stays while it has another tag.
    r = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "a1"}])
    assert r["imageIds"] == [{"imageDigest": a.digest, "imageTag": "a1"}]
    assert a.digest in digests(ecr.describe_images(repositoryName=repo)["imageDetails"])
    # The last tag takes the image with it.
    r = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "a2"}])
    assert r["imageIds"] == [{"imageDigest": a.digest, "imageTag": "a2"}]
    assert a.digest not in digests(ecr.describe_images(repositoryName=repo)["imageDetails"])
    # By digest, with failures for what is not there.
    r = ecr.batch_delete_image(repositoryName=repo, imageIds=[
        {"imageDigest": b.digest}, {"imageDigest": c.digest}, {"imageTag": "gone"},
        {"imageDigest": a.digest}])
    assert r["imageIds"] == [{"imageDigest": b.digest, "imageTag": "b"},
                             {"imageDigest": c.digest}]
    assert [(f["imageId"], f["failureCode"]) for f in r["failures"]] == [
        ({"imageTag": "gone"}, "ImageNotFound"), ({"imageDigest": a.digest}, "ImageNotFound")]
    assert image_ids(ecr, repo) == []
    expect_error("RepositoryNotFoundException", ecr.batch_delete_image,
                 repositoryName="nope-" + repo, imageIds=[{"imageTag": "x"}])


def test_registry_push_visible_to_ecr(wharfd, ecr, repo):
    """An image pushed over /v2/ is an image of the ECR API, and the reverse."""
    reg = Registry(wharfd, login_password(wharfd))
    a = Img()
    for blob in (a.config, a.layer):
        reg.push_blob(repo, blob)
    r = reg.push_manifest(repo, "from-v2", a.manifest.encode(), a.media_type)
    assert r.status == 201, r
    d = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "from-v2"}])
    assert d["imageDetails"][0]["imageDigest"] == a.digest
    b = Img()
    b.push(ecr, repo, "from-ecr")
    got = reg.get(f"/v2/{repo}/manifests/from-ecr", headers={"Accept": OCI_MANIFEST})
    assert got.status == 200 and got.body == b.manifest.encode()


# ---- authorization tokens -------------------------------------------------------------

def test_get_authorization_token(wharfd, ecr):
    r = ecr.get_authorization_token()["authorizationData"]
    assert len(r) == 1
    data = r[0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    assert user == "AWS" and password
    left = data["expiresAt"].timestamp() - time.time()
    assert 12 * 3600 - 60 < left <= 12 * 3600 + 5
    assert data["proxyEndpoint"] == f"http://127.0.0.1:{wharfd.port}"
    # The password opens /v2/.
    assert Registry(wharfd, password).get("/v2/").status == 200
    assert Registry(wharfd, None).get("/v2/").status == 401
    r = ecr.get_authorization_token(registryIds=[ACCOUNT])["authorizationData"]
    assert len(r) == 1
    expect_error(INVALID, ecr.get_authorization_token, registryIds=["999999999999"])


def cli_text(wharfd, *args):
    """The AWS CLI's raw stdout (for commands that do not print JSON)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(wharfd.data_dir / "credentials"),
               AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", wharfd.url, *args], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_cli_get_login_password(wharfd):
    password = cli_text(wharfd, "ecr", "get-login-password").strip()
    assert password and "\n" not in password
    assert Registry(wharfd, password).get("/v2/").status == 200
    assert Registry(wharfd, password + "x").get("/v2/").status == 401


# ---- repository policies -------------------------------------------------------------

def policy(effect="Allow", principal="*", actions=("ecr:BatchGetImage",)):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "s", "Effect": effect, "Principal": principal, "Action": list(actions)}]})


def test_repository_policy_crud(ecr, repo):
    msg = expect_error("RepositoryPolicyNotFoundException", ecr.get_repository_policy,
                       repositoryName=repo)
    assert repo in msg
    expect_error("RepositoryPolicyNotFoundException", ecr.delete_repository_policy,
                 repositoryName=repo)
    text = policy(principal={"AWS": [OTHER_ROOT]}, actions=["ecr:BatchGetImage",
                                                            "ecr:GetDownloadUrlForLayer"])
    r = ecr.set_repository_policy(repositoryName=repo, policyText=text)
    assert (r["registryId"], r["repositoryName"], r["policyText"]) == (ACCOUNT, repo, text)
    r = ecr.get_repository_policy(repositoryName=repo)
    assert json.loads(r["policyText"]) == json.loads(text)
    r = ecr.delete_repository_policy(repositoryName=repo)
    assert json.loads(r["policyText"]) == json.loads(text)
    expect_error("RepositoryPolicyNotFoundException", ecr.get_repository_policy,
                 repositoryName=repo)
    expect_error("RepositoryNotFoundException", ecr.set_repository_policy,
                 repositoryName="nope-" + repo, policyText=text)


@pytest.mark.parametrize("text,needle", [
    ("{", "not valid JSON"),
    (json.dumps({"Statement": []}), "Version"),
    (json.dumps({"Version": "2012-10-17", "Statement": []}), "Statement"),
    (policy(effect="Perhaps"), "Effect"),
    (policy(actions=["s3:GetObject"]), "s3:GetObject"),
    (policy(actions=["ecr:NoSuchAction"]), "ecr:NoSuchAction"),
    (policy(principal={"AWS": "bob"}), "bob"),
    (json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecr:*"}]}), "Principal"),
    (json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "ecr:*",
         "Condition": {"StringEquals": {"aws:x": "y"}}}]}), "Condition"),
])
def test_repository_policy_validation(ecr, repo, text, needle):
    msg = expect_error(INVALID, ecr.set_repository_policy, repositoryName=repo, policyText=text)
    assert needle in msg
    expect_error("RepositoryPolicyNotFoundException", ecr.get_repository_policy,
                 repositoryName=repo)


def test_repository_policy_enforced_on_api(ecr, repo):
    a = Img()
    a.push(ecr, repo, "v1")
    # Only another account may pull: the owner's pulls and pushes are refused.
    ecr.set_repository_policy(repositoryName=repo, policyText=policy(
        principal={"AWS": OTHER_ROOT}, actions=["ecr:*"]))
    expect_error("AccessDeniedException", ecr.batch_get_image, repositoryName=repo,
                 imageIds=[{"imageTag": "v1"}])
    expect_error("AccessDeniedException", ecr.initiate_layer_upload, repositoryName=repo)
    expect_error("AccessDeniedException", ecr.put_image, repositoryName=repo,
                 imageManifest=a.manifest, imageTag="v2")
    # Management and listing are not data-plane actions.
    assert ecr.describe_images(repositoryName=repo)["imageDetails"]
    # Allow pulls for the account, deny pushes to everyone.
    ecr.set_repository_policy(repositoryName=repo, policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "ecr:*"},
            {"Effect": "Deny", "Principal": "*", "Action": ["ecr:PutImage",
                                                            "ecr:InitiateLayerUpload"]}]}))
    assert ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"]
    expect_error("AccessDeniedException", ecr.put_image, repositoryName=repo,
                 imageManifest=a.manifest, imageTag="v2")
    ecr.delete_repository_policy(repositoryName=repo)
    ecr.put_image(repositoryName=repo, imageManifest=a.manifest, imageTag="v2")


def test_repository_policy_enforced_on_v2(wharfd, ecr, repo):
    a = Img()
    a.push(ecr, repo, "v1")
    reg = Registry(wharfd, login_password(wharfd))
    assert reg.get(f"/v2/{repo}/manifests/v1", headers={"Accept": OCI_MANIFEST}).status == 200
    ecr.set_repository_policy(repositoryName=repo, policyText=policy(
        effect="Deny", principal="*", actions=["ecr:BatchGetImage"]))
    r = reg.get(f"/v2/{repo}/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert r.status in (401, 403), r
    assert oci_error(r) in ("DENIED", "UNAUTHORIZED")
    ecr.delete_repository_policy(repositoryName=repo)
    assert reg.get(f"/v2/{repo}/manifests/v1", headers={"Accept": OCI_MANIFEST}).status == 200


# ---- lifecycle policies ----------------------------------------------------------------

def push_series(ecr, repo, tags):
    """Push one image per entry (None: untagged) in order, so push times increase."""
    out = []
    for t in tags:
        im = Img()
        im.push(ecr, repo, t)
        out.append(im)
        time.sleep(0.01)
    return out


def test_lifecycle_policy_crud(ecr, repo):
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy,
                 repositoryName=repo)
    expect_error("LifecyclePolicyNotFoundException", ecr.delete_lifecycle_policy,
                 repositoryName=repo)
    text = lifecycle(rule("untagged", n=1), rule("tagged", prefixes=["v"], n=3))
    r = ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    assert (r["registryId"], r["repositoryName"], r["lifecyclePolicyText"]) == \
        (ACCOUNT, repo, text)
    r = ecr.get_lifecycle_policy(repositoryName=repo)
    assert r["lifecyclePolicyText"] == text
    assert "lastEvaluatedAt" not in r
    r = ecr.delete_lifecycle_policy(repositoryName=repo)
    assert r["lifecyclePolicyText"] == text
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy,
                 repositoryName=repo)


@pytest.mark.parametrize("text,needle", [
    (lifecycle(rule("any", n=1), rule("tagged", prefixes=["v"])), "must have the highest"),
    (lifecycle(rule("untagged"), rule("untagged", count_type="sinceImagePushed")),
     "only one rule may select untagged"),
    (lifecycle(rule("tagged")), "tagPrefixList"),
    (lifecycle(rule("tagged", patterns=["*a*b*c*d*e"])), "wildcards"),
    (json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1,
        "countUnit": "days"}, "action": {"type": "expire"}}]}), "countUnit"),
    (json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 1,
        "countUnit": "weeks"}, "action": {"type": "expire"}}]}), "countUnit 'weeks'"),
    (json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 0},
        "action": {"type": "expire"}}]}), "countNumber"),
    (json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "delete"}}]}), "action.type 'delete'"),
    ("{" + " " * 120, "not valid JSON"),
])
def test_lifecycle_policy_validation(ecr, repo, text, needle):
    msg = expect_error(INVALID, ecr.put_lifecycle_policy, repositoryName=repo,
                       lifecyclePolicyText=text)
    assert needle in msg, msg
    expect_error(INVALID, ecr.start_lifecycle_policy_preview, repositoryName=repo,
                 lifecyclePolicyText=text)
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy,
                 repositoryName=repo)


def test_lifecycle_preview_then_apply_on_demand(wharfd, ecr, repo):
    imgs = push_series(ecr, repo, [None, None, "v1", "v2", "v3", "release"])
    u1, u2, v1, v2, v3, rel = imgs
    text = lifecycle(rule("untagged", n=1), rule("tagged", prefixes=["v"], n=2))
    expect_error("LifecyclePolicyPreviewNotFoundException", ecr.get_lifecycle_policy_preview,
                 repositoryName=repo)
    expect_error("LifecyclePolicyNotFoundException", ecr.start_lifecycle_policy_preview,
                 repositoryName=repo)
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    r = ecr.start_lifecycle_policy_preview(repositoryName=repo)
    assert r["status"] == "IN_PROGRESS" and r["lifecyclePolicyText"] == text
    r = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert r["status"] == "COMPLETE"
    res = {x["imageDigest"]: x for x in r["previewResults"]}
    assert set(res) == {u1.digest, v1.digest}
    assert res[u1.digest]["appliedRulePriority"] == 1
    assert res[v1.digest]["appliedRulePriority"] == 2
    assert res[v1.digest]["imageTags"] == ["v1"]
    assert res[v1.digest]["action"] == {"type": "EXPIRE"}
    assert r["summary"]["expiringImageTotalCount"] == 2
    # Filters of the preview.
    r = ecr.get_lifecycle_policy_preview(repositoryName=repo, filter={"tagStatus": "TAGGED"})
    assert [x["imageDigest"] for x in r["previewResults"]] == [v1.digest]
    r = ecr.get_lifecycle_policy_preview(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert [x["imageDigest"] for x in r["previewResults"]] == [v1.digest]
    r1 = ecr.get_lifecycle_policy_preview(repositoryName=repo, maxResults=1)
    assert len(r1["previewResults"]) == 1 and r1["nextToken"]
    r2 = ecr.get_lifecycle_policy_preview(repositoryName=repo, maxResults=1,
                                          nextToken=r1["nextToken"])
    assert len(r2["previewResults"]) == 1 and "nextToken" not in r2
    assert {r1["previewResults"][0]["imageDigest"], r2["previewResults"][0]["imageDigest"]} == \
        {u1.digest, v1.digest}
    # A preview is read-only.
    assert len(ecr.describe_images(repositoryName=repo)["imageDetails"]) == 6
    # On demand: wharf's WharfApplyLifecyclePolicy expires exactly what the preview showed.
    resp = ecr_call(wharfd, "WharfApplyLifecyclePolicy", {"repositoryName": repo})
    assert resp.status == 200, resp
    assert {x["imageDigest"] for x in resp.json()["expiredImages"]} == {u1.digest, v1.digest}
    left = digests(ecr.describe_images(repositoryName=repo)["imageDetails"])
    assert left == {u2.digest, v2.digest, v3.digest, rel.digest}
    assert "lastEvaluatedAt" in ecr.get_lifecycle_policy(repositoryName=repo)
    # Applying again changes nothing.
    resp = ecr_call(wharfd, "WharfApplyLifecyclePolicy", {"repositoryName": repo})
    assert resp.json()["expiredImages"] == []
    resp = ecr_call(wharfd, "WharfApplyLifecyclePolicy", {"repositoryName": "nope-" + repo})
    assert resp.status == 400 and resp.error_type == "RepositoryNotFoundException"


def test_lifecycle_preview_of_unsaved_text(ecr, repo):
    a, b, c = push_series(ecr, repo, ["x1", "x2", "y1"])
    text = lifecycle(rule("any", n=1))
    ecr.start_lifecycle_policy_preview(repositoryName=repo, lifecyclePolicyText=text)
    r = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert r["lifecyclePolicyText"] == text
    assert {x["imageDigest"] for x in r["previewResults"]} == {a.digest, b.digest}
    # Nothing was saved.
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy,
                 repositoryName=repo)


def test_lifecycle_pattern_and_priority(wharfd, ecr, repo):
    imgs = push_series(ecr, repo, ["prod-1", "prod-2", "prod-3", "dev-1", "dev-2", None])
    p1, p2, p3, d1, d2, u = imgs
    # prod-* keeps 2; "any" keeps the newest image of all (the untagged one). The prod images
    # are claimed by rule 1 and never expired by rule 2, though rule 2 counts them.
    text = lifecycle(rule("tagged", patterns=["prod-*"], n=2), rule("any", n=1))
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    ecr.start_lifecycle_policy_preview(repositoryName=repo)
    res = {x["imageDigest"]: x["appliedRulePriority"] for x in
           ecr.get_lifecycle_policy_preview(repositoryName=repo)["previewResults"]}
    assert res == {p1.digest: 1, d1.digest: 2, d2.digest: 2}


def backdate(wharfd, repo, digest, days):
    """Move an image's push time back (the daemon must be stopped)."""
    db = sqlite3.connect(wharfd.data_dir / "wharf.db")
    with db:
        n = db.execute("UPDATE manifests SET pushed_at = pushed_at - ? WHERE digest = ? AND "
                       "repo_id = (SELECT id FROM repositories WHERE name = ?)",
                       (days * DAY, digest, repo)).rowcount
    db.close()
    assert n == 1


def test_lifecycle_since_image_pushed(make_wharfd):
    d = make_wharfd(extra_args=["--lifecycle-interval", "0"])
    ecr = d.client("ecr")
    name = uniq("age")
    ecr.create_repository(repositoryName=name)
    old, mid, new = push_series(ecr, name, ["old", None, "new"])
    d.stop()
    backdate(d, name, old.digest, 40)
    backdate(d, name, mid.digest, 10)
    d.start()
    ecr = d.client("ecr")
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=lifecycle(
        rule("untagged", "sinceImagePushed", 7), rule("any", "sinceImagePushed", 30)))
    ecr.start_lifecycle_policy_preview(repositoryName=name)
    res = {x["imageDigest"]: x["appliedRulePriority"] for x in
           ecr.get_lifecycle_policy_preview(repositoryName=name)["previewResults"]}
    assert res == {old.digest: 2, mid.digest: 1}


def test_lifecycle_applied_on_schedule(make_wharfd):
    d = make_wharfd(extra_args=["--lifecycle-interval", "1s"])
    ecr = d.client("ecr")
    name = uniq("sched")
    ecr.create_repository(repositoryName=name)
    imgs = push_series(ecr, name, [None, None, None, "keep"])
    ecr.put_lifecycle_policy(repositoryName=name,
                             lifecyclePolicyText=lifecycle(rule("untagged", n=1)))
    wait_for(lambda: len(ecr.describe_images(repositoryName=name)["imageDetails"]) == 2,
             timeout=15, what="the scheduler to expire two untagged images")
    left = digests(ecr.describe_images(repositoryName=name)["imageDetails"])
    assert left == {imgs[2].digest, imgs[3].digest}
    r = ecr.get_lifecycle_policy(repositoryName=name)
    assert time.time() - r["lastEvaluatedAt"].timestamp() < 60
    assert "lifecycle:" in d.stderr_text()


@pytest.mark.parametrize("value", ["soon", "0.1s", "8d", "-1"])
def test_lifecycle_interval_flag_refused(wharfd_binary, value):
    p = subprocess.run([wharfd_binary, "--lifecycle-interval", value], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 2 and "--lifecycle-interval" in p.stderr


# ---- tags ------------------------------------------------------------------------------

def test_tag_untag_list(ecr, repo):
    arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repo}"
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == []
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}])
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "b", "Value": "two"}])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two"}]
    ecr.untag_resource(resourceArn=arn, tagKeys=["a", "never"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "b", "Value": "two"}]
    missing = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/nope-{repo}"
    for fn, kw in ((ecr.tag_resource, {"tags": [{"Key": "a", "Value": "1"}]}),
                   (ecr.untag_resource, {"tagKeys": ["a"]}), (ecr.list_tags_for_resource, {})):
        expect_error("RepositoryNotFoundException", fn, resourceArn=missing, **kw)
    expect_error(INVALID, ecr.list_tags_for_resource,
                 resourceArn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/x")
    expect_error("RepositoryNotFoundException", ecr.list_tags_for_resource,
                 resourceArn=f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{repo}")
    expect_error("InvalidTagParameterException", ecr.tag_resource, resourceArn=arn,
                 tags=[{"Key": "aws:reserved", "Value": "x"}])
    expect_error("TooManyTagsException", ecr.tag_resource, resourceArn=arn,
                 tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "b", "Value": "two"}]


# ---- registry --------------------------------------------------------------------------

def test_describe_registry(ecr):
    r = ecr.describe_registry()
    assert r["registryId"] == ACCOUNT
    assert r["replicationConfiguration"] == {"rules": []}


def test_registry_host_template(make_wharfd):
    d = make_wharfd(extra_args=["--registry-host", "{account}.dkr.ecr.{region}.localhost:4566"])
    ecr = d.client("ecr", "eu-west-1")
    r = ecr.create_repository(repositoryName="web")["repository"]
    assert r["repositoryUri"] == f"{ACCOUNT}.dkr.ecr.eu-west-1.localhost:4566/web"
    tok = ecr.get_authorization_token()["authorizationData"][0]
    assert tok["proxyEndpoint"] == f"http://{ACCOUNT}.dkr.ecr.eu-west-1.localhost:4566"


# ---- the AWS CLI flows -----------------------------------------------------------------

def test_cli_flows(wharfd):
    name = uniq("cli") + "/svc"
    ecr = wharfd.client("ecr")
    r = wharfd.cli("ecr", "create-repository", "--repository-name", name,
                   "--image-tag-mutability", "MUTABLE",
                   "--image-scanning-configuration", "scanOnPush=true")
    assert r["repository"]["repositoryUri"] == f"127.0.0.1:{wharfd.port}/{name}"
    r = wharfd.cli("ecr", "describe-repositories", "--repository-names", name)
    assert r["repositories"][0]["imageScanningConfiguration"] == {"scanOnPush": True}
    imgs = push_series(ecr, name, [None, None, "v1"])
    text = lifecycle(rule("untagged", n=1))
    r = wharfd.cli("ecr", "put-lifecycle-policy", "--repository-name", name,
                   "--lifecycle-policy-text", text)
    assert r["lifecyclePolicyText"] == text
    r = wharfd.cli("ecr", "start-lifecycle-policy-preview", "--repository-name", name)
    assert r["status"] == "IN_PROGRESS"
    r = wharfd.cli("ecr", "get-lifecycle-policy-preview", "--repository-name", name)
    assert r["status"] == "COMPLETE"
    assert [x["imageDigest"] for x in r["previewResults"]] == [imgs[0].digest]
    r = wharfd.cli("ecr", "describe-images", "--repository-name", name)
    assert len(r["imageDetails"]) == 3
    r = wharfd.cli("ecr", "describe-images", "--repository-name", name,
                   "--filter", "tagStatus=UNTAGGED")
    assert {x["imageDigest"] for x in r["imageDetails"]} == {imgs[0].digest, imgs[1].digest}
    r = wharfd.cli("ecr", "batch-delete-image", "--repository-name", name,
                   "--image-ids", f"imageDigest={imgs[0].digest}", "imageTag=nope")
    assert r["imageIds"] == [{"imageDigest": imgs[0].digest}]
    assert r["failures"][0]["failureCode"] == "ImageNotFound"
    r = wharfd.cli("ecr", "describe-images", "--repository-name", name)
    assert len(r["imageDetails"]) == 2
    p = wharfd.cli("ecr", "describe-repositories", "--repository-names", "nope-" + name,
                   check=False)
    assert p.returncode != 0 and "RepositoryNotFoundException" in p.stderr
