"""Task networking helpers for e2e tests (src/agent/net/): a task subnet pool of its own per
wharfd (so that several wharfds on one host never hand out the same subnets), what an agent's
networking holds on the host, and removing it after a test that left tasks behind.

The names follow src/agent/net/network.c: namespaces under /run/wharf/<tag>/netns, CNI
networks "wharf-awsvpc-<tag6>" and "wharf-bridge-<tag6>", leases in DATA/net/ipam/<network>/,
where tag is the first 12 hex digits of sha256(realpath(DATA))."""
import hashlib
import ipaddress
import os
import random
import shlex
import subprocess
from pathlib import Path

SYS_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def subnet_pool():
    """A random /16 for wharfd's --task-subnet-pool, away from the default 10.213.0.0/16."""
    return f"10.{random.randrange(160, 250)}.0.0/16"


def net_tag(data_dir):
    return hashlib.sha256(os.path.realpath(data_dir).encode()).hexdigest()[:12]


def network_names(data_dir):
    t = net_tag(data_dir)[:6]
    return [f"wharf-awsvpc-{t}", f"wharf-bridge-{t}"]


def bridges(data_dir):
    t = net_tag(data_dir)[:6]
    return [f"wh-{t}-vpc", f"wh-{t}-br"]


def run_dir(data_dir):
    return Path("/run/wharf") / net_tag(data_dir) / "netns"


def _ipt(*args, check=False):
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True,
                          check=check, env={"PATH": SYS_PATH})


def leases(data_dir):
    """{ip: container id} of the agent's host-local leases."""
    out = {}
    for f in (Path(data_dir) / "net" / "ipam").glob("*/*"):
        try:
            ipaddress.IPv4Address(f.name)
        except ValueError:
            continue
        out[f.name] = f.read_text().splitlines()[0] if f.read_text() else ""
    return out


def _ours(line, names, subnets):
    if not line.startswith("-A ") or '"wharf: ' in line:
        return False
    if any(f'name: \\"{n}\\"' in line for n in names):
        return True
    for tok in line.replace(":", " ").replace("/", " ").split():
        try:
            ip = ipaddress.IPv4Address(tok)
        except ValueError:
            continue
        if any(ip in s for s in subnets):
            return True
    return False


def warm_ids(data_dir):
    """Ids of the awsvpc networks the agent keeps made ahead (--awsvpc-warm: records
    "pool.<hex>.json" that no task has taken yet)."""
    return {f.stem for f in (Path(data_dir) / "net" / "tasks").glob("pool.*.json")}


def census(data_dir, subnets=(), warm=False):
    """What the agent of data_dir holds: namespaces, leases, iptables rules naming its networks
    or addresses of subnets (CIDR strings), and its network records. The warm networks the
    agent keeps ready for the next awsvpc tasks are left out unless warm is true."""
    subnets = [ipaddress.IPv4Network(s) for s in subnets]
    names = network_names(data_dir)
    rd = run_dir(data_dir)
    skip = set() if warm else warm_ids(data_dir)
    skip_ips = {ip for ip, owner in leases(data_dir).items() if owner in skip}

    def pooled(line):
        return any(f'id: \\"{i}\\"' in line for i in skip) or \
            any(f"{ip}/" in line or f" {ip} " in f"{line} " for ip in skip_ips)

    rules = 0
    for table in ("nat", "filter"):
        rules += sum(_ours(l, names, subnets) and not pooled(l)
                     for l in _ipt("-t", table, "-S").stdout.splitlines())
    return {"netns": len([f for f in rd.iterdir() if f.name not in skip]) if rd.exists() else 0,
            "leases": len([o for o in leases(data_dir).values() if o not in skip]),
            "rules": rules,
            "records": len([f for f in (Path(data_dir) / "net" / "tasks").glob("*.json")
                            if f.stem not in skip])}


def _chain(network, cid, prefix=""):
    return ("CNI-" + prefix + hashlib.sha512((network + cid).encode()).hexdigest())[:28]


def purge_net(data_dir):
    """Remove what the agent of data_dir left: namespaces, iptables rules and chains of its
    networks (by name), firewall accepts of its leased addresses, leases, its bridges."""
    rd = run_dir(data_dir)
    for f in rd.glob("*") if rd.exists() else []:
        subprocess.run(["umount", "-l", str(f)], capture_output=True)
        try:
            f.unlink()
        except OSError:
            pass
    names = network_names(data_dir)
    ips = set(leases(data_dir))
    chains = set()
    for table in ("nat", "filter"):
        for line in _ipt("-t", table, "-S").stdout.splitlines():
            if not line.startswith("-A "):
                continue
            named = [n for n in names if f'name: \\"{n}\\"' in line]
            fwd = line.startswith("-A CNI-FORWARD ") and any(f" {ip}/32 " in line + " "
                                                             for ip in ips)
            if not named and not fwd:
                continue
            if named and 'id: \\"' in line:
                cid = line.split('id: \\"', 1)[1].split('\\"', 1)[0]
                chains.update((table, _chain(named[0], cid, p)) for p in ("", "DN-"))
            args = shlex.split(line)
            _ipt("-t", table, "-D", *args[1:])
    for table, chain in chains:
        if _ipt("-t", table, "-F", chain).returncode == 0:
            _ipt("-t", table, "-X", chain)
    for f in (Path(data_dir) / "net" / "ipam").glob("*/*"):
        try:
            ipaddress.IPv4Address(f.name)
            f.unlink()
        except (ValueError, OSError):
            pass
    # The agent's bridges and the rules that name them (host services, the loopback guard).
    for br in bridges(data_dir):
        for table in ("nat", "filter"):
            for line in _ipt("-t", table, "-S").stdout.splitlines():
                if line.startswith("-A ") and f" -i {br} " in line:
                    _ipt("-t", table, "-D", *shlex.split(line)[1:])
        subprocess.run(["ip", "link", "del", br], capture_output=True, env={"PATH": SYS_PATH})
    try:
        rd.rmdir()
        rd.parent.rmdir()
    except OSError:
        pass
