"""Benchmark: plan and apply on a loopback fleet of four servers and 1,000 zones.

    python bench/bench_deploy.py [--zones 1000] [--runs 3] [--keep DIR]

1. Writes a site of ZONES zones served by a hidden BIND primary (ns1) and
   three secondaries: NSD (ns2), Knot (ns3) and BIND (ns4), each with its
   ``path`` in a temporary folder, on 127.0.0.1 with distinct ports.
2. Installs it with ``zonesmith apply --yes`` while nothing runs, starts the
   four servers from their paths and waits until every secondary serves
   every zone.
3. Times, RUNS times each, as a user runs them (a fresh process each):
   ``zonesmith plan`` with nothing to do, and ``zonesmith apply --yes`` of
   one changed record, which returns once every server serves it.

The goals (issue 15): plan with nothing to do <= 2 s; apply of one record
until every server serves it <= 3 s. A benchmark, not a test: it prints a
table. Every server listens on 127.0.0.1 only and is stopped by its PID.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from zonesmith.deploy.observe import Question, soa_serials  # noqa: E402

SETTLE_TIMEOUT = 300.0  # seconds for the secondaries to take every zone
GOALS = {"plan, nothing to do": 2.0, "apply one record, served everywhere": 3.0}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        return udp.getsockname()[1]


def write_site(site: Path, srv: Path, zones: int, ports: dict[str, int]) -> list[str]:
    names = [f"zone{i:04d}.example" for i in range(zones)]
    (site / "zones").mkdir(parents=True)
    lines = [
        "defaults:",
        "  ttl: 1h",
        "  soa: {primary: ns1.example.net., contact: hostmaster@example.net, refresh: 1h,"
        " retry: 10}",
        "servers:",
        f"  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {ports['ns1']},"
        f" path: {srv}/ns1, hidden: true, control-port: {ports['ctl1']}}}",
        f"  ns2: {{software: nsd, role: secondary, address: 127.0.0.1, port: {ports['ns2']},"
        f" path: {srv}/ns2, primaries: [ns1]}}",
        f"  ns3: {{software: knot, role: secondary, address: 127.0.0.1, port: {ports['ns3']},"
        f" path: {srv}/ns3, primaries: [ns1]}}",
        f"  ns4: {{software: bind, role: secondary, address: 127.0.0.1, port: {ports['ns4']},"
        f" path: {srv}/ns4, primaries: [ns1], control-port: {ports['ctl4']}}}",
        "sets:",
        "  ns: {'@': [NS ns2.example.net., NS ns3.example.net.]}",
        "zones:",
    ]
    lines += [f"  {name}: {{include: [ns]}}" for name in names]
    (site / "zonesmith.yaml").write_text("\n".join(lines) + "\n")
    for index, name in enumerate(names):
        records = "".join(f"host{j}: A 192.0.2.{j}\n" for j in range(1, 6))
        (site / "zones" / f"{name}.yaml").write_text(records + f"www: A 198.51.100.{index % 250}\n")
    return names


def zonesmith(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run(
        [sys.executable, "-m", "zonesmith", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def start(srv: Path, logs: Path) -> dict[str, subprocess.Popen[bytes]]:
    argv = {
        "ns1": ["named", "-g", "-c", srv / "ns1/named.conf"],
        "ns2": ["nsd", "-d", "-c", srv / "ns2/nsd.conf"],
        "ns3": ["knotd", "-c", srv / "ns3/knot.conf"],
        "ns4": ["named", "-g", "-c", srv / "ns4/named.conf"],
    }
    started = {}
    for name, command in argv.items():
        binary = shutil.which(command[0], path="/usr/sbin:/usr/bin:/sbin") or command[0]
        with open(logs / f"{name}.log", "ab") as log:
            started[name] = subprocess.Popen(
                [binary, *map(str, command[1:])],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    return started


def stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def settle(names: list[str], ports: dict[str, int]) -> float:
    """Seconds until every server serves every zone (bounded)."""
    began = time.monotonic()
    questions = [Question(name, name) for name in names]
    for server in ("ns1", "ns2", "ns3", "ns4"):
        while True:
            served, _ = soa_serials("127.0.0.1", ports[server], questions)
            missing = [key for key, serial in served.items() if serial is None]
            if not missing:
                break
            if time.monotonic() - began > SETTLE_TIMEOUT:
                raise SystemExit(f"{server} still misses {len(missing)} zones")
            time.sleep(0.5)
    return time.monotonic() - began


def timed(*args: str | Path, expect: int) -> float:
    began = time.perf_counter()
    done = zonesmith(*args)
    elapsed = time.perf_counter() - began
    if done.returncode != expect:
        raise SystemExit(
            f"zonesmith {' '.join(map(str, args))} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--zones", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    options = parser.parse_args()
    base = options.keep or Path(tempfile.mkdtemp(prefix="zonesmith-bench-deploy-"))
    base.mkdir(parents=True, exist_ok=True)
    site, srv = base / "site", base / "srv"
    shutil.rmtree(site, ignore_errors=True)
    shutil.rmtree(srv, ignore_errors=True)
    ports: dict[str, int] = {}
    for name in ("ns1", "ns2", "ns3", "ns4", "ctl1", "ctl4"):
        port = free_port()
        while port in ports.values():
            port = free_port()
        ports[name] = port
    names = write_site(site, srv, options.zones, ports)
    install = timed("apply", site, "--yes", expect=0)
    processes = start(srv, base)
    try:
        settled = settle(names, ports)
        plans = [timed("plan", site, expect=0) for _ in range(options.runs)]
        applies = []
        for run in range(options.runs):
            zone = names[run * 7 % len(names)]
            path = site / "zones" / f"{zone}.yaml"
            path.write_text(path.read_text() + f"bench{run}: A 203.0.113.{run + 1}\n")
            applies.append(timed("apply", site, "--yes", expect=0))
    finally:
        stop(processes)
        if options.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print(f"fleet: 4 servers (BIND primary; NSD, Knot, BIND secondaries), {len(names)} zones")
    print(
        f"first install (apply --yes, nothing running): {install:.2f} s; "
        f"servers took every zone in {settled:.1f} s"
    )
    print(f"{'measure':<40} {'median':>8} {'min':>8} {'max':>8} {'goal':>6}")
    for label, runs in (
        ("plan, nothing to do", plans),
        ("apply one record, served everywhere", applies),
    ):
        print(
            f"{label:<40} {statistics.median(runs):>7.2f}s {min(runs):>7.2f}s "
            f"{max(runs):>7.2f}s {GOALS[label]:>5.1f}s"
        )


if __name__ == "__main__":
    main()
