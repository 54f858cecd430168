"""podman against the registry: `podman login` with `aws ecr get-login-password`, push of an
image built from busybox-static, pull back, digests equal. Skipped when podman is absent.

podman runs isolated from the machine's configuration and storage: its own containers.conf
(CONTAINERS_CONF), registries.conf, auth file, storage root (vfs driver), run root and tmp
dir, all in a temp dir of its own (short: podman refuses a run root over 50 characters). containers.conf lowers default_ulimits: podman asks for
nofile and nproc at the hard maximum, which root without CAP_SYS_RESOURCE cannot set for a
container (not needed for push/pull, kept so the same setup can run a container)."""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import AWS_CLI, uniq
from registry_helpers import (DOCKER_MANIFEST, OCI_MANIFEST, Image, Registry, login_password,
                              sha256, write_layout)

PODMAN = shutil.which("podman")
pytestmark = pytest.mark.skipif(not PODMAN, reason="podman is not installed")


class Podman:
    def __init__(self, root):
        self.root = root
        for d in ("storage", "run", "tmp"):
            (root / d).mkdir(parents=True)
        (root / "containers.conf").write_text(
            '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
            '[engine]\nevents_logger = "none"\n'
            f'image_copy_tmp_dir = "{root / "tmp"}"\n')
        (root / "registries.conf").write_text("unqualified-search-registries = []\n")
        (root / "auth.json").write_text('{"auths": {}}')
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("REGISTRY_AUTH", "CONTAINERS_", "XDG", "DOCKER_"))}
        self.env.update(CONTAINERS_CONF=str(root / "containers.conf"),
                        CONTAINERS_REGISTRIES_CONF=str(root / "registries.conf"),
                        REGISTRY_AUTH_FILE=str(root / "auth.json"), TMPDIR=str(root / "tmp"))

    def __call__(self, *args, input=None, check=True, timeout=180):
        argv = [PODMAN, "--root", str(self.root / "storage"), "--runroot",
                str(self.root / "run"), "--tmpdir", str(self.root / "tmp"),
                "--storage-driver", "vfs", "--events-backend", "none", *args]
        p = subprocess.run(argv, env=self.env, input=input, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {p.returncode}:\n{p.stderr}")
        return p


@pytest.fixture
def podman():
    root = Path(tempfile.mkdtemp(prefix="wharf-podman-"))
    yield Podman(root)
    shutil.rmtree(root, ignore_errors=True)


def get_login_password(wharfd):
    """`aws ecr get-login-password`, the AWS CLI v2 with the daemon's credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(wharfd.data_dir / "credentials"),
               AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    p = subprocess.run([AWS_CLI, "--endpoint-url", wharfd.url, "ecr", "get-login-password"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.mark.parametrize("fmt,media_type", [("oci", OCI_MANIFEST), ("v2s2", DOCKER_MANIFEST)])
def test_podman_login_push_pull(wharfd, podman, tmp_path, fmt, media_type):
    host = f"127.0.0.1:{wharfd.port}"
    repo = f"podman/{uniq('app')}"
    ecr = wharfd.client("ecr", "us-east-1")
    ecr.create_repository(repositoryName=repo)

    bad = podman("login", "--tls-verify=false", "-u", "AWS", "--password-stdin", host,
                 input="not-a-token\n", check=False)
    assert bad.returncode != 0
    p = podman("login", "--tls-verify=false", "-u", "AWS", "--password-stdin", host,
               input=get_login_password(wharfd) + "\n")
    assert "Login Succeeded" in p.stdout, p.stdout + p.stderr

    im = Image()
    src = write_layout(tmp_path / "src", "v1", [im])
    image_id = podman("pull", "-q", f"oci:{src}:v1").stdout.strip().splitlines()[-1]
    assert "sha256:" + image_id == sha256(im.config)  # podman's image id: the config digest

    # podman pushes from its own storage: it compresses the layer itself, so the manifest
    # it sends is its own. Its digest is what the registry and the pull must agree on.
    digestfile = tmp_path / "digest"
    podman("push", "--tls-verify=false", "--format", fmt, "--digestfile", str(digestfile),
           image_id, f"docker://{host}/{repo}:v1")
    pushed = digestfile.read_text().strip()
    assert pushed.startswith("sha256:")

    r = Registry(wharfd, login_password(wharfd)).get(
        f"/v2/{repo}/manifests/v1", headers={"Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"})
    assert r.status == 200 and sha256(r.body) == pushed, r
    assert r.headers["content-type"] == media_type
    assert json.loads(r.body)["config"]["digest"] == sha256(im.config)
    details = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in details] == [(pushed, ["v1"])]

    podman("rmi", "-a", "-f")
    podman("pull", "-q", "--tls-verify=false", f"{host}/{repo}:v1")
    info = json.loads(podman("image", "inspect", f"{host}/{repo}:v1").stdout)[0]
    assert info["Digest"] == pushed
    assert "sha256:" + info["Id"] == sha256(im.config)
    assert f"{host}/{repo}@{pushed}" in info["RepoDigests"]
    # And by digest.
    podman("rmi", "-a", "-f")
    podman("pull", "-q", "--tls-verify=false", f"{host}/{repo}@{pushed}")
    info = json.loads(podman("image", "inspect", f"{host}/{repo}@{pushed}").stdout)[0]
    assert info["Digest"] == pushed

    podman("logout", host)
    p = podman("pull", "-q", "--tls-verify=false", f"{host}/{repo}:v1", check=False)
    assert p.returncode != 0 and "unauthorized" in p.stderr.lower(), p.stderr
