"""Helpers for the registry's e2e tests: OCI layouts built from busybox-static (no downloads),
registry tokens (through ECR's GetAuthorizationToken), a raw /v2/ HTTP client and skopeo."""
import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import Resp

BUSYBOX = "/bin/busybox"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
SKOPEO = shutil.which("skopeo")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data):
    return "sha512:" + hashlib.sha512(data).hexdigest()


def descriptor(media_type, data, **extra):
    d = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    d.update(extra)
    return d


# ---- images ----------------------------------------------------------------------------

def busybox_layer(extra_files=None):
    """A gzip'd tar of /bin/busybox (+ /bin/sh symlink and extra {path: bytes}), reproducible."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static is not installed (scripts/deps installs it)")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(name):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(ti)
        add_dir("bin")
        data = Path(BUSYBOX).read_bytes()
        ti = tarfile.TarInfo("bin/busybox")
        ti.size, ti.mode, ti.mtime = len(data), 0o755, 0
        tar.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("bin/sh")
        ti.type, ti.linkname, ti.mode, ti.mtime = tarfile.SYMTYPE, "busybox", 0o777, 0
        tar.addfile(ti)
        for path, content in (extra_files or {}).items():
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode, ti.mtime = len(content), 0o644, 0
            tar.addfile(ti, io.BytesIO(content))
    diff = raw.getvalue()
    gz = gzip.compress(diff, mtime=0)
    return gz, sha256(diff)


def image_config(diff_id, arch="amd64", docker=False):
    cfg = {
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "wharf e2e test"}],
    }
    return json.dumps(cfg, sort_keys=True).encode()


class Image:
    """One single-platform image: config, layers and manifest bytes."""

    def __init__(self, arch="amd64", docker=False, extra_files=None, subject=None,
                 artifact_type=None, annotations=None):
        self.arch = arch
        layer, diff_id = busybox_layer(extra_files)
        self.layers = [layer]
        self.config = image_config(diff_id, arch)
        mt = DOCKER_MANIFEST if docker else OCI_MANIFEST
        m = {"schemaVersion": 2, "mediaType": mt,
             "config": descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, self.config),
             "layers": [descriptor(DOCKER_LAYER if docker else OCI_LAYER, l)
                        for l in self.layers]}
        if subject:
            m["subject"] = subject
        if artifact_type:
            m["artifactType"] = artifact_type
        if annotations:
            m["annotations"] = annotations
        self.media_type = mt
        self.manifest = json.dumps(m, indent=2).encode()
        self.digest = sha256(self.manifest)

    def blobs(self):
        return [self.config, *self.layers]

    def platform_descriptor(self):
        return descriptor(self.media_type, self.manifest,
                          platform={"architecture": self.arch, "os": "linux"})


def index_of(images, docker=False):
    mt = DOCKER_LIST if docker else OCI_INDEX
    body = json.dumps({"schemaVersion": 2, "mediaType": mt,
                       "manifests": [im.platform_descriptor() for im in images]}).encode()
    return mt, body


def write_layout(directory, tag, images, index_body=None, index_media_type=OCI_INDEX):
    """An OCI image layout (oci:DIR:tag for skopeo) holding images; with index_body the tag
    names that index (a multi-arch image), else the single image."""
    d = Path(directory)
    (d / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (d / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def put(data):
        (d / "blobs" / "sha256" / hashlib.sha256(data).hexdigest()).write_bytes(data)

    for im in images:
        for b in im.blobs():
            put(b)
        put(im.manifest)
    if index_body is not None:
        put(index_body)
        top = descriptor(index_media_type, index_body)
    else:
        top = descriptor(images[0].media_type, images[0].manifest)
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (d / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return d


def read_layout_top(directory):
    """(media type, manifest bytes, digest) of the single entry of a layout's index.json."""
    d = Path(directory)
    idx = json.loads((d / "index.json").read_text())
    top = idx["manifests"][0]
    data = (d / "blobs" / "sha256" / top["digest"].split(":")[1]).read_bytes()
    return top["mediaType"], data, top["digest"]


# ---- auth ------------------------------------------------------------------------------

def login_password(wharfd, region="us-east-1"):
    """The password of `aws ecr get-login-password` (GetAuthorizationToken through boto3)."""
    ecr = wharfd.client("ecr", region)
    tok = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, password = base64.b64decode(tok).decode().split(":", 1)
    assert user == "AWS"
    return password


def basic(password, user="AWS"):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ---- raw /v2/ client -------------------------------------------------------------------

class Registry:
    """Raw HTTP against /v2/ with an Authorization header (None: anonymous)."""

    def __init__(self, wharfd, password=None, region="us-east-1", auth=None):
        self.wharfd = wharfd
        self.auth = auth if auth is not None else (basic(password) if password else None)

    @property
    def host(self):
        return f"127.0.0.1:{self.wharfd.port}"

    def request(self, method, path, body=None, headers=None, timeout=60):
        h = {}
        if self.auth:
            h["Authorization"] = self.auth
        h.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.wharfd.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # ---- pushing ----
    def push_blob(self, repo, data, digest=None):
        digest = digest or sha256(data)
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data,
                         headers={"Content-Type": "application/octet-stream"})
        assert r.status == 201, r
        return digest

    def push_manifest(self, repo, ref, body, media_type=OCI_MANIFEST):
        return self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=body,
                            headers={"Content-Type": media_type})

    def push_image(self, repo, tag, image):
        for b in image.blobs():
            self.push_blob(repo, b)
        r = self.push_manifest(repo, tag, image.manifest, image.media_type)
        assert r.status == 201, r
        return r


def oci_error(resp):
    """The first OCI error code of a response."""
    return resp.json()["errors"][0]["code"]


# ---- skopeo ----------------------------------------------------------------------------

def skopeo(*args, password=None, timeout=300, check=True):
    if not SKOPEO:
        pytest.skip("skopeo is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_AUTH", "XDG"))}
    env["REGISTRY_AUTH_FILE"] = "/dev/null/none"  # never a user's stored credentials
    argv = [SKOPEO, "--insecure-policy", *args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}:\n{p.stderr}")
    return p
