"""Benchmark: compiling a million blocklist names, and Unbound starting from them.

    python bench/bench_blocklists.py [--names 1000000] [--runs 3] [--keep DIR]

1. Generates NAMES distinct names (a few of them below others, as in real
   lists) into local files of a site, in four formats: hosts, plain domains,
   AdBlock and wildcards.
2. Times the compile the way ``zonesmith blocklist update`` does it for local
   files (read, parse, validate, de-duplicate, drop covered names, store the
   compiled list), in a fresh process: wall time and peak memory (max RSS).
3. Builds the site (``zonesmith build``, unbound-checkconf included) and
   times Unbound starting from zonesmith's output against Unbound starting
   from a hand-written ``local-zone`` list of the same names (the names as
   generated, one ``always_nxdomain`` line each), alternating, RUNS times each:
   from the start of the process to the first NXDOMAIN answer for a listed
   name, and the server's peak memory (VmHWM).

The targets (issue 5): compile <= 3 s; Unbound start from zonesmith's output
<= 1.1 x the hand-written list. A benchmark, not a test: it prints a table.
Every Unbound it starts listens on 127.0.0.1 only and is stopped by its PID.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 300.0  # seconds for Unbound to answer
TLDS = ("com", "net", "org", "io", "de", "info", "xyz", "co.uk", "com.br", "ru")


def generate(count: int, seed: int = 1) -> list[str]:
    """``count`` distinct names; about 2% are subdomains of another listed name."""
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + string.digits
    names: dict[str, None] = {}
    parents: list[str] = []
    while len(names) < count:
        if parents and rng.random() < 0.02:
            name = f"{''.join(rng.choices(alphabet, k=rng.randint(2, 8)))}.{rng.choice(parents)}"
        else:
            labels = [
                "".join(rng.choices(alphabet, k=rng.randint(3, 14)))
                for _ in range(rng.choice((1, 1, 2, 2, 2, 3)))
            ]
            name = ".".join([*labels, rng.choice(TLDS)])
            if len(parents) < 20000 and rng.random() < 0.05:
                parents.append(name)
        names[name] = None
    return list(names)


def write_site(root: Path, names: list[str], res_port: int) -> None:
    lists = root / "lists"
    lists.mkdir(parents=True)
    quarter = len(names) // 4
    parts = [names[:quarter], names[quarter : 2 * quarter], names[2 * quarter : 3 * quarter]]
    parts.append(names[3 * quarter :])
    (lists / "hosts.txt").write_text(
        "# generated hosts file\n127.0.0.1 localhost\n"
        + "".join(f"0.0.0.0 {n}\n" for n in parts[0])
    )
    (lists / "domains.txt").write_text("# plain\n" + "".join(f"{n}\n" for n in parts[1]))
    (lists / "adblock.txt").write_text("! adblock\n" + "".join(f"||{n}^\n" for n in parts[2]))
    (lists / "wildcards.txt").write_text("".join(f"*.{n}\n" for n in parts[3]))
    out = root.parent / "out"
    (root / "zonesmith.yaml").write_text(
        f"""\
views:
  home: {{clients: [127.0.0.0/8]}}
servers:
  res1: {{software: unbound, role: resolver, address: 127.0.0.1, port: {res_port},
         path: {json.dumps(str(out / "res1"))}, blocklists: [big]}}
blocklists:
  big:
    sources: [lists/hosts.txt, lists/domains.txt, lists/adblock.txt, lists/wildcards.txt]
"""
    )


COMPILE = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
started = time.perf_counter()
from zonesmith.site.loader import load_site
from zonesmith.blocklists.update import update_site
site, _ = load_site({site!r})
loaded = time.perf_counter()
result = update_site(site)
done = time.perf_counter()
print(json.dumps({{
    "compile": done - loaded,
    "process": done - started,
    "names": result.lists[0].names,
    "read": sum(s.names_read for s in result.lists[0].sources),
    "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}}))
"""


def time_compile(site: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    code = COMPILE.format(src=str(ROOT / "src"), site=str(site))
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    if run.returncode != 0:
        sys.exit(f"compile failed:\n{run.stdout}\n{run.stderr}")
    return json.loads(run.stdout)


def free_port() -> int:
    for _ in range(100):
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit("no free port")


def unbound_binary() -> str:
    found = shutil.which("unbound") or shutil.which("unbound", path="/usr/sbin:/usr/local/sbin")
    if not found:
        sys.exit("unbound is not installed")
    return found


def start_time(conf: Path, port: int, probe: str, log: Path) -> tuple[float, int]:
    """Seconds from spawn to the first NXDOMAIN for ``probe``, and peak RSS in KiB."""
    started = time.perf_counter()
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [unbound_binary(), "-d", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        query = dns.message.make_query(probe, "A")
        deadline = started + START_TIMEOUT
        while True:
            if process.poll() is not None:
                sys.exit(f"unbound exited with {process.returncode}; see {log}")
            if time.perf_counter() > deadline:
                sys.exit(f"unbound did not answer within {START_TIMEOUT:.0f} s; see {log}")
            try:
                response = dns.query.udp(query, "127.0.0.1", port=port, timeout=0.2)
            except (dns.exception.Timeout, OSError):
                time.sleep(0.02)
                continue
            if response.rcode() == dns.rcode.NXDOMAIN:
                elapsed = time.perf_counter() - started
                break
            time.sleep(0.02)
        peak = 0
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
        return elapsed, peak
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def hand_written(folder: Path, names: list[str], port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "list.conf").write_text(
        "server:\n" + "".join(f'local-zone: "{n}." always_nxdomain\n' for n in names)
    )
    conf = folder / "unbound.conf"
    conf.write_text(
        f"""server:
    directory: "{folder}"
    chroot: ""
    username: ""
    pidfile: "{folder}/unbound.pid"
    interface: 127.0.0.1@{port}
    access-control: 127.0.0.0/8 allow
include: "{folder}/list.conf"
"""
    )
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="zonesmith-bench-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating {args.names:,} names in {work} ...", flush=True)
        names = generate(args.names)
        res_port, hand_port = free_port(), free_port()
        site = work / "site"
        write_site(site, names, res_port)
        size = sum(p.stat().st_size for p in (site / "lists").iterdir())

        runs = [time_compile(site) for _ in range(args.runs)]
        compile_s = statistics.median(r["compile"] for r in runs)
        process_s = statistics.median(r["process"] for r in runs)
        rss_mib = max(r["maxrss_kib"] for r in runs) / 1024

        out = work / "out"
        started = time.perf_counter()
        build = subprocess.run(
            [sys.executable, "-m", "zonesmith", "build", str(site), "-o", str(out)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            timeout=1200,
        )
        build_s = time.perf_counter() - started
        if build.returncode != 0:
            sys.exit(f"build failed:\n{build.stdout}\n{build.stderr}")

        ours = out / "res1" / "unbound.conf"
        hand = hand_written(work / "hand", names, hand_port)
        probe = names[len(names) // 2]
        timings: dict[str, list[tuple[float, int]]] = {"zonesmith": [], "hand-written": []}
        for _ in range(args.runs):  # alternate, so both see the same machine
            timings["zonesmith"].append(start_time(ours, res_port, probe, work / "ours.log"))
            timings["hand-written"].append(start_time(hand, hand_port, probe, work / "hand.log"))
        start = {k: statistics.median(t for t, _ in v) for k, v in timings.items()}
        peak = {k: max(m for _, m in v) / 1024 for k, v in timings.items()}
        kept = runs[0]["names"]

        print()
        print(f"names generated: {args.names:,} ({size / 2**20:.0f} MiB in 4 files)")
        print(f"names read: {runs[0]['read']:,}; compiled list: {kept:,} (covered names dropped)")
        print()
        print(f"{'measure':<46} {'value':>12} {'target':>10} {'ratio':>7}")
        print(
            f"{'compile (read, parse, dedupe, store), median':<46} {compile_s:>10.2f} s "
            f"{'3.00 s':>10} {compile_s / 3:>6.2f}x"
        )
        print(f"{'compile, whole process incl. start-up':<46} {process_s:>10.2f} s")
        print(f"{'compile, peak memory (max RSS)':<46} {rss_mib:>8.0f} MiB")
        print(f"{'zonesmith build (incl. unbound-checkconf)':<46} {build_s:>10.2f} s")
        ratio = start["zonesmith"] / start["hand-written"]
        print(f"{'unbound start, hand-written list, median':<46} {start['hand-written']:>10.2f} s")
        print(
            f"{'unbound start, zonesmith output, median':<46} {start['zonesmith']:>10.2f} s "
            f"{'1.10x':>10} {ratio:>6.2f}x"
        )
        print(f"{'unbound peak memory, hand-written':<46} {peak['hand-written']:>8.0f} MiB")
        print(
            f"{'unbound peak memory, zonesmith output':<46} {peak['zonesmith']:>8.0f} MiB "
            f"{'':>10} {peak['zonesmith'] / peak['hand-written']:>6.2f}x"
        )
        print()
        print(
            "runs (start s, peak MiB):",
            json.dumps(
                {k: [(round(t, 2), round(m / 1024)) for t, m in v] for k, v in timings.items()}
            ),
        )
        print("compile runs (s):", [round(r["compile"], 2) for r in runs])
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
