"""End-to-end harness: a real wharfd on a free port with a temp data dir, driven by boto3, the
AWS CLI v2 (/usr/bin/aws) and raw SigV4-signed HTTP requests.

Run: WHARFD=build/wharfd /usr/bin/python3 -m pytest tests/e2e

Fixtures:
  wharfd       session-scoped daemon for tests that need no isolation (use uniq() names and,
               where a listing must be exact, a region no other test uses)
  ecs          boto3 ECS client of the session daemon in us-east-1
  make_wharfd  factory of function-scoped daemons (restart, kill -9, first start, ...)
"""
import configparser
import datetime
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
WHARFD = os.environ.get("WHARFD") or str(REPO / "build" / "wharfd")
AWS_CLI = "/usr/bin/aws"
ECS_TARGET = "AmazonEC2ContainerServiceV20141113"
# The session daemon runs with an explicit account id so tests can assert exact ARNs.
ACCOUNT = "123456789012"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "SUMMARY: AddressSanitizer",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"


def uniq(prefix="t"):
    """A resource name no other test uses: letters, digits and hyphens only."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def cluster_arn(name, region="us-east-1", account=ACCOUNT):
    return f"arn:aws:ecs:{region}:{account}:cluster/{name}"


def td_arn(family, revision, region="us-east-1", account=ACCOUNT):
    return f"arn:aws:ecs:{region}:{account}:task-definition/{family}:{revision}"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def sign_request(req, creds, region, service="ecs", when=None, presign_expires=None):
    """Sign an AWSRequest in place as botocore's SigV4Auth.add_auth does, but at `when`
    (naive UTC datetime; default now). presign_expires selects the query-string form
    (SigV4QueryAuth, which moves any body into the query: use an empty body)."""
    if presign_expires is not None:
        auth = SigV4QueryAuth(creds, service, region, expires=presign_expires)
    else:
        auth = SigV4Auth(creds, service, region)
    req.context["timestamp"] = (when or utcnow()).strftime(SIGV4_TIMESTAMP)
    auth._modify_request_before_signing(req)
    canonical = auth.canonical_request(req)
    string_to_sign = auth.string_to_sign(req, canonical)
    auth._inject_signature_to_request(req, auth.signature(string_to_sign, req))
    return req


class Resp:
    """A raw HTTP response."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def error_type(self):
        t = self.json().get("__type", "")
        return t.rsplit("#", 1)[-1]

    @property
    def message(self):
        j = self.json()
        return j.get("message", j.get("Message", ""))

    @property
    def request_id(self):
        return self.headers.get("x-amzn-requestid")

    def __repr__(self):
        return f"Resp({self.status}, {self.body[:400]!r})"


class CliError(Exception):
    def __init__(self, rc, stderr, args):
        super().__init__(f"aws {' '.join(args)} exited {rc}: {stderr.strip()}")
        self.rc = rc
        self.stderr = stderr


_botocore_session = botocore.session.get_session()  # shares loaded models between clients
_botocore_lock = threading.Lock()


class Wharfd:
    """One wharfd process (restartable) over one data directory."""

    def __init__(self, data_dir, log_dir, extra_args=(), account=None):
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.extra_args = list(extra_args)
        if account:
            self.extra_args += ["--account-id", account]
        self.account = account
        self.proc = None
        self.port = None
        self.runs = 0
        self._clients = {}

    # ---- process control -------------------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout_path(self):
        return self.log_dir / f"stdout.{self.runs}"

    @property
    def stderr_path(self):
        return self.log_dir / f"stderr.{self.runs}"

    def stdout_text(self):
        return self.stdout_path.read_text(errors="replace")

    def stderr_text(self):
        return self.stderr_path.read_text(errors="replace")

    def start(self, port=None, timeout=20):
        """Start and wait for GET /health 200. Retries on another free port if the chosen
        one was taken in the meantime (unless a port was asked for)."""
        assert self.proc is None, "already running"
        for attempt in range(5):
            self.port = port or (self.port if attempt == 0 and self.port else free_port())
            self.runs += 1
            self.log_dir.mkdir(parents=True, exist_ok=True)
            argv = [WHARFD, "--listen", f"127.0.0.1:{self.port}", "--data-dir",
                    str(self.data_dir), *self.extra_args]
            with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(argv, stdout=out, stderr=err,
                                             stdin=subprocess.DEVNULL)
            if self._wait_healthy(timeout):
                self._clients.clear()
                return self
            rc = self.proc.poll()
            err_text = self.stderr_text()
            self.proc = None
            busy = "in use" in err_text or "cannot listen" in err_text
            if rc is None or not busy or port:
                raise AssertionError(
                    f"wharfd did not become healthy (rc={rc}): {' '.join(argv)}\n{err_text[-3000:]}")
        raise AssertionError("wharfd: no free port after 5 attempts")

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = self.get("/health", timeout=1)
                if r.status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        return False

    def assert_no_sanitizer_report(self):
        text = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            assert marker not in text, f"sanitizer report in wharfd stderr:\n{text[-5000:]}"

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stop with sig; assert a clean exit (0) and no sanitizer report. Returns rc."""
        assert self.proc is not None, "not running"
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise AssertionError(f"wharfd did not exit within {timeout}s of {sig!r}")
        self.proc = None
        self.assert_no_sanitizer_report()
        assert rc == 0, f"wharfd exited {rc} on {sig!r}; stderr:\n{self.stderr_text()[-3000:]}"
        return rc

    def kill9(self):
        assert self.proc is not None, "not running"
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.assert_no_sanitizer_report()

    def restart(self, kill=False):
        if kill:
            self.kill9()
        else:
            self.stop()
        return self.start(port=None)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- credentials -------------------------------------------------------------------
    def profiles(self):
        cp = configparser.ConfigParser()
        cp.read(self.data_dir / "credentials")
        return {s: (cp[s]["aws_access_key_id"], cp[s]["aws_secret_access_key"])
                for s in cp.sections()}

    def credentials(self, profile="default"):
        key, secret = self.profiles()[profile]
        return Credentials(key, secret)

    # ---- clients -----------------------------------------------------------------------
    def client(self, service="ecs", region="us-east-1", profile="default", key=None,
               secret=None, cached=True):
        """A boto3 client of this daemon (cached unless cached=False: threads that must not
        share a connection pool get their own); errors surface at once (no retries)."""
        if key is None:
            key, secret = self.profiles()[profile]
        ck = (service, region, key, secret, self.port)
        c = self._clients.get(ck) if cached else None
        if c is None:
            with _botocore_lock:
                session = boto3.session.Session(botocore_session=_botocore_session)
                c = session.client(
                    service, region_name=region, endpoint_url=self.url,
                    aws_access_key_id=key, aws_secret_access_key=secret,
                    config=Config(retries={"mode": "standard", "total_max_attempts": 1},
                                  connect_timeout=5, read_timeout=30))
            if cached:
                self._clients[ck] = c
        return c

    def cli(self, *args, region="us-east-1", profile=None, check=True):
        """Run the AWS CLI v2 against this daemon; parsed JSON output (None when empty).
        Raises CliError with stderr on a non-zero exit."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_SHARED_CREDENTIALS_FILE=str(self.data_dir / "credentials"),
                   AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION=region, AWS_PAGER="",
                   AWS_MAX_ATTEMPTS="1", AWS_EC2_METADATA_DISABLED="true")
        if profile:
            env["AWS_PROFILE"] = profile
        argv = [AWS_CLI, "--endpoint-url", self.url, "--output", "json", *args]
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            if check:
                raise CliError(p.returncode, p.stderr, args)
            return p
        return json.loads(p.stdout) if p.stdout.strip() else None

    # ---- raw HTTP ----------------------------------------------------------------------
    def get(self, path, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def send(self, req, timeout=30):
        """Send an AWSRequest as is (headers and body exactly as built and signed)."""
        u = urlsplit(req.url)
        target = (u.path or "/") + (f"?{u.query}" if u.query else "")
        body = req.data if req.data is not None else b""
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(req.method, target, body=body, headers=dict(req.headers.items()))
            r = conn.getresponse()
            return Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def build(self, action=None, body=None, raw_body=None, target=None, headers=None):
        """An unsigned AWSRequest for POST / (JSON 1.1)."""
        data = raw_body if raw_body is not None else json.dumps(body or {}).encode()
        h = {"Host": f"127.0.0.1:{self.port}",
             "Content-Type": "application/x-amz-json-1.1"}
        if target is not None or action is not None:
            h["X-Amz-Target"] = target if target is not None else f"{ECS_TARGET}.{action}"
        h.update(headers or {})
        return AWSRequest(method="POST", url=self.url + "/", data=data, headers=h)

    def call(self, action=None, body=None, region="us-east-1", raw_body=None, target=None,
             headers=None, creds=None, when=None, sign=True, service="ecs",
             presign_expires=None):
        """Build, sign (SigV4 header form, or query form with presign_expires) and send."""
        req = self.build(action, body, raw_body, target, headers)
        if sign:
            sign_request(req, creds or self.credentials(), region, service, when,
                         presign_expires)
        return self.send(req)


def _make(tmp_root, name, extra_args=(), account=ACCOUNT, data_dir=None):
    root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp_root))
    return Wharfd(data_dir or root / "data", root / "logs", extra_args, account)


@pytest.fixture(scope="session")
def wharfd_binary():
    if not os.access(WHARFD, os.X_OK):
        pytest.exit(f"wharfd binary {WHARFD} not found; set WHARFD=path/to/wharfd", 2)
    return WHARFD


@pytest.fixture(scope="session")
def wharfd(wharfd_binary, tmp_path_factory):
    d = _make(tmp_path_factory.mktemp("session"), "session")
    d.start()
    yield d
    if d.running:
        d.stop()


@pytest.fixture
def ecs(wharfd):
    return wharfd.client("ecs", "us-east-1")


@pytest.fixture
def make_wharfd(wharfd_binary, tmp_path):
    """Factory of function-scoped daemons: make_wharfd(extra_args=(), account=ACCOUNT,
    data_dir=None, start=True). Each one still running at the end is stopped with SIGTERM and
    must exit 0."""
    made = []

    def factory(extra_args=(), account=ACCOUNT, data_dir=None, start=True):
        d = _make(tmp_path, "fn", extra_args, account, data_dir)
        made.append(d)
        if start:
            d.start()
        return d

    yield factory
    for d in made:
        if d.running:
            d.stop()


# ---- assertion helpers ----------------------------------------------------------------

def aws_error(fn, *args, **kwargs):
    """Call a boto3 method that must fail; returns (code, message, http_status)."""
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    e = ei.value.response
    return (e["Error"]["Code"], e["Error"].get("Message", ""),
            e["ResponseMetadata"]["HTTPStatusCode"])


def expect_error(code, fn, *args, **kwargs):
    """fn(...) must fail with AWS error `code` (a string or a tuple of accepted codes) and
    HTTP 400. Returns the message."""
    got, msg, status = aws_error(fn, *args, **kwargs)
    codes = (code,) if isinstance(code, str) else tuple(code)
    assert got in codes, f"expected {codes}, got {got}: {msg}"
    assert status == 400, f"{got} came with HTTP {status}, expected 400"
    return msg


def assert_subset(expected, actual, path="$"):
    """Every member of `expected` is in `actual` with the same value (recursively; lists
    compared element by element, same length)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for k, v in expected.items():
            assert k in actual, f"{path}.{k} missing in {actual!r}"
            assert_subset(v, actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), \
            f"{path}: expected {expected!r}, got {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_subset(e, a, f"{path}[{i}]")
    else:
        assert expected == actual, f"{path}: expected {expected!r}, got {actual!r}"


def tags_dict(tags):
    d = {t["key"]: t["value"] for t in tags}
    assert len(d) == len(tags), f"duplicate keys in {tags!r}"
    return d


def list_all(fn, key, **kwargs):
    """Follow nextToken to the end; returns (items, pages)."""
    items, pages, token = [], 0, None
    while True:
        args = dict(kwargs)
        if token:
            args["nextToken"] = token
        r = fn(**args)
        items += r[key]
        pages += 1
        token = r.get("nextToken")
        if not token:
            return items, pages
        assert pages < 1000, "pagination does not end"


def container(name="web", **kw):
    c = {"name": name, "image": "public.ecr.aws/nginx/nginx:1.25", "memory": 128,
         "essential": True}
    c.update(kw)
    return c


def wait_for(pred, timeout=5, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
