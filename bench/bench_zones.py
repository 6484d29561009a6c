"""Benchmark: zonesmith on big zones and many zones, against its peers, in one run.

    python bench/bench_zones.py                    # 1,000,000 records, 10,000 zones
    python bench/bench_zones.py --records 100000   # a quicker look
    python bench/bench_zones.py --no-octodns       # skip the octoDNS venv

It generates the inputs in a temporary folder, then times, each as a fresh
process (wall time and peak resident memory from wait4):

- ``zonesmith build`` (server checkers off; zonesmith installed by pip into
  its own venv under the benchmark folder, as a user has it) of a site whose zone is a master
  file of N records (60 % A, 20 % AAAA, 10 % CNAME, 10 % TXT with two
  strings), and of the same zone written as site YAML;
- ``named-compilezone`` (parse, check, write) and ``nsd-checkzone`` on the
  same master file; dnspython's ``dns.zone.from_file``; octoDNS (installed
  into a separate venv under the benchmark folder) loading the zone file with
  octodns-bind's ZoneFileSource and writing YAML;
- ``zonesmith build`` of a site of 10,000 zones of 20 records, then five
  rebuilds, each after one more zone was edited (the median of five is shown).

The big-zone tools (zonesmith's two builds, named-compilezone, nsd-checkzone)
take turns for ``--rounds`` rounds (3) and each is shown by its median run;
zonesmith builds from scratch every time (no output, cache or serial state).
It prints a table with ratios to named-compilezone. It is a benchmark, not a
test: nothing asserts; the numbers are for people.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

SOA = "@ 3600 IN SOA ns1.example.net. hostmaster.example.net. 1 3600 600 86400 3600"
SITE_HEADER = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.net., contact: hostmaster@example.net}
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, path: /srv/dns}
"""


@dataclass
class Run:
    tool: str
    case: str
    seconds: float
    peak_mb: float
    ok: bool
    note: str = ""


#: Runs a command and writes its wall time, peak memory and exit code to a file.
#: The benchmark itself holds the generated inputs (hundreds of MB); a child
#: forked from it would report that as its own peak (Linux keeps the high-water
#: mark across exec), so commands are started from this small process instead.
_MEASURER = """
import json, os, subprocess, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
process = subprocess.Popen(argv)
_, status, usage = os.wait4(process.pid, 0)
seconds = time.perf_counter() - start
with open(report, "w") as stream:
    json.dump([seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status)], stream)
"""


def measure(
    argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float, bool, str]:
    """Wall seconds, peak RSS in MB, success, and the tail of the output of one process."""
    with tempfile.TemporaryFile() as output, tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(
            [sys.executable, "-c", _MEASURER, report.name, *argv],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
        try:
            seconds, peak_kb, returncode = json.loads(report.read())
        except ValueError:
            seconds, peak_kb, returncode = 0.0, 0, -1
        output.seek(0)
        tail = output.read().decode(errors="replace").strip().splitlines()[-1:]
    return seconds, peak_kb / 1024, returncode == 0, " ".join(tail)[:100]


# --------------------------------------------------------------------------- inputs


def record_lines(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        kind = i % 10
        if kind < 6:
            lines.append(f"h{i} IN A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}")
        elif kind < 8:
            lines.append(f"h{i} IN AAAA 2001:db8:{(i >> 16) & 0xFFFF:x}::{i & 0xFFFF:x}")
        elif kind < 9:
            lines.append(f"c{i} IN CNAME h{rng.randrange(max(i, 1))}")
        else:
            # two strings, as the verification tokens that fill big zones' TXT records;
            # the zone's one SPF record is at its apex (see write_master_site)
            lines.append(f't{i} IN TXT "site-verification=v{i:08d}" "token=t{i:08d}"')
    return lines


def write_master_site(root: Path, count: int) -> Path:
    site = root / "master-site"
    (site / "zones").mkdir(parents=True)
    body = ["$TTL 3600", SOA, "@ IN NS ns1.example.net.", "@ IN NS ns2.example.net."]
    body += ["@ IN MX 10 h1", '@ IN TXT "v=spf1 mx include:_spf.example.net ~all"']
    body += record_lines(count)
    (site / "zones/big.example.zone").write_text("\n".join(body) + "\n")
    (site / "zonesmith.yaml").write_text(SITE_HEADER + "zones:\n  big.example: {}\n")
    return site


def write_yaml_site(root: Path, count: int) -> Path:
    site = root / "yaml-site"
    (site / "zones").mkdir(parents=True)
    # one line: the apex as a flow list, as the flat reader takes it
    out = [
        "'@': [NS ns1.example.net., NS ns2.example.net., MX 10 h1, "
        "'TXT \"v=spf1 mx include:_spf.example.net ~all\"']"
    ]
    for line in record_lines(count):
        owner, _, kind, data = line.split(" ", 3)
        text = f"{kind} {data}".replace("'", "''")
        out.append(f"{owner}: '{text}'")
    (site / "zones/big.example.yaml").write_text("\n".join(out) + "\n")
    (site / "zonesmith.yaml").write_text(SITE_HEADER + "zones:\n  big.example: {}\n")
    return site


def write_many_zones_site(root: Path, zones: int) -> Path:
    site = root / "many-site"
    (site / "zones").mkdir(parents=True)
    names = [f"zone{i:05d}.example" for i in range(zones)]
    config = SITE_HEADER + "sets:\n  ns: {'@': [NS ns1.example.net., NS ns2.example.net.]}\n"
    config += "zones:\n" + "".join(f"  {name}: {{include: [ns]}}\n" for name in names)
    (site / "zonesmith.yaml").write_text(config)
    for n, name in enumerate(names):
        records = [f"h{i}: A 10.{n >> 8 & 255}.{n & 255}.{i}" for i in range(12)]
        records += [f"v{i}: AAAA 2001:db8:{n:x}::{i}" for i in range(4)]
        records += [
            "www: CNAME h0",
            "'@': MX 10 h1",
            "mail: A 192.0.2.25",
            "_dmarc: 'TXT \"v=DMARC1; p=reject\"'",
        ]
        (site / "zones" / f"{name}.yaml").write_text("\n".join(records) + "\n")
    # As the files of a repository checked out a while ago: zonesmith re-reads
    # a file changed in the last seconds whatever its stat says (see cache).
    an_hour_ago = time.time() - 3600
    for path in (site / "zones").iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    return site


# --------------------------------------------------------------------------- peers


def zonesmith_python(bench_dir: Path) -> str:
    """Python of a venv with this checkout of zonesmith installed, as pip installs it.

    zonesmith is measured as a user runs it: installed by pip into its own
    venv, byte-compiled. The interpreter the benchmark itself runs on may load
    site-wide .pth hooks at every start (0.13 s on some machines, which would
    be an eighth of a rebuild); a venv does not. Falls back to this Python.
    """
    venv = bench_dir / ".zonesmith-venv"
    python = venv / "bin" / "python"
    # Made with zonesmith's dependencies once; then only this checkout's code is reinstalled.
    first = ["install", "-q", "."]
    again = ["install", "-q", "--force-reinstall", "--no-deps", "."]
    try:
        made = python.exists()
        if not made:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", *(again if made else first)],
            cwd=bench_dir.parent,
            check=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"no venv for zonesmith ({exc}); measuring it on {sys.executable}", file=sys.stderr)
        shutil.rmtree(venv, ignore_errors=True)  # made again, dependencies and all, next time
        return sys.executable
    return str(python)


def octodns_venv(bench_dir: Path) -> Path | None:
    """A venv with octoDNS and its BIND zone-file source, made once and kept."""
    venv = bench_dir / ".octodns-venv"
    python = venv / "bin" / "python"
    if python.exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "octodns", "octodns-bind"],
            check=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"octoDNS not available: {exc}", file=sys.stderr)
        shutil.rmtree(venv, ignore_errors=True)
        return None
    return python


def octodns_config(root: Path, zone_file_dir: Path) -> Path:
    config = root / "octodns.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        providers:
          zonefile:
            class: octodns_bind.ZoneFileSource
            directory: {zone_file_dir}
            file_extension: .zone
            check_origin: false
          yaml:
            class: octodns.provider.yaml.YamlProvider
            directory: {root / "octodns-out"}
            enforce_order: false
        zones:
          big.example.:
            sources: [zonefile]
            targets: [yaml]
        """)
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--no-octodns", action="store_true")
    parser.add_argument("--no-dnspython", action="store_true")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each big-zone tool (the median is shown)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs")
    args = parser.parse_args()

    bench_dir = Path(__file__).resolve().parent
    root = Path(tempfile.mkdtemp(prefix="zonesmith-bench-"))
    runs: list[Run] = []
    zonesmith = [zonesmith_python(bench_dir), "-m", "zonesmith"]
    big = f"{args.records:,} records"
    try:
        print(f"generating inputs in {root} ...", file=sys.stderr)
        master_site = write_master_site(root, args.records)
        zone_file = master_site / "zones/big.example.zone"

        def add(tool: str, case: str, argv: list[str], **kw: object) -> None:
            print(f"running {tool} ({case}) ...", file=sys.stderr)
            seconds, peak, ok, tail = measure(argv, **kw)  # type: ignore[arg-type]
            runs.append(Run(tool, case, seconds, peak, ok, "" if ok else tail))

        def median_of(taken: list[Run]) -> Run:
            """The run of median time; its note lists them all (a failure wins)."""
            failed = [run for run in taken if not run.ok]
            if failed:
                return failed[0]
            ordered = sorted(taken, key=lambda run: run.seconds)
            median = ordered[len(ordered) // 2]
            if len(ordered) > 1:
                median.note = "median of " + ", ".join(f"{r.seconds:.2f}" for r in ordered) + " s"
            return median

        compilezone = shutil.which("named-compilezone") or "/usr/sbin/named-compilezone"
        nsd_checkzone = shutil.which("nsd-checkzone") or "/usr/sbin/nsd-checkzone"
        yaml_site = write_yaml_site(root, args.records)
        # The big-zone tools take turns, round after round, and each is shown
        # by its median: on a shared machine the speed drifts by a fifth
        # within a minute, which one run each would put into the ratios.
        big_runs: dict[str, list[Run]] = {}
        for _ in range(args.rounds):
            for tool, argv, site in [
                (
                    "named-compilezone",
                    [compilezone, "-o", str(root / "compiled.db"), "big.example", str(zone_file)],
                    None,
                ),
                ("nsd-checkzone", [nsd_checkzone, "big.example", str(zone_file)], None),
                ("zonesmith build (master file)", [*zonesmith, "build"], master_site),
                ("zonesmith build (site YAML)", [*zonesmith, "build"], yaml_site),
            ]:
                if tool == "nsd-checkzone" and not Path(nsd_checkzone).exists():
                    continue
                if site is not None:
                    # A first build every time: no output, cache or serial state yet.
                    out = root / f"out-{site.name}"
                    for path in (out, site / ".zonesmith"):
                        shutil.rmtree(path, ignore_errors=True)
                    (site / "zonesmith.state").unlink(missing_ok=True)
                    argv = [*argv, str(site), "-o", str(out), "--no-server-checks"]
                add(tool, big, argv)
                big_runs.setdefault(tool, []).append(runs.pop())
        runs.extend(median_of(taken) for taken in big_runs.values())
        if not args.no_dnspython:
            add(
                "dnspython zone.from_file",
                big,
                [
                    sys.executable,
                    "-c",
                    "import dns.zone,sys; dns.zone.from_file(sys.argv[1],"
                    " 'big.example', relativize=False)",
                    str(zone_file),
                ],
            )
        if not args.no_octodns:
            python = octodns_venv(bench_dir)
            if python is not None:
                config = octodns_config(root, zone_file.parent)
                sync = python.parent / "octodns-sync"
                add(
                    "octoDNS (zone file → YAML)",
                    big,
                    [str(sync), "--config-file", str(config), "--doit"],
                )

        many = write_many_zones_site(root, args.zones)
        case = f"{args.zones:,} zones x 20 records"
        build_many = [
            *zonesmith,
            "build",
            str(many),
            "-o",
            str(root / "out-many"),
            "--no-server-checks",
        ]
        add("zonesmith build", case, build_many)
        # Five rebuilds, each after one more zone was edited: the median is
        # the figure; the edited file is the only one younger than a second.
        rebuilds = []
        for edit, n in enumerate((42, 4242, 9999, 777, 6000)):
            edited = many / "zones" / f"zone{n % args.zones:05d}.example.yaml"
            edited.write_text(edited.read_text() + f"extra{edit}: A 192.0.2.99\n")
            add("zonesmith rebuild, 1 zone edited", case, build_many)
            rebuilds.append(runs.pop())
        runs.append(median_of(rebuilds))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    reference = next((r for r in runs if r.tool == "named-compilezone" and r.ok), None)
    print()
    print(f"{'tool':<36} {'input':<28} {'wall s':>8} {'peak MB':>8} {'time ×':>7} {'mem ×':>6}")
    for run in runs:
        ratio = mem = ""
        if reference and run.case == reference.case:
            ratio = f"{run.seconds / reference.seconds:.2f}"
            mem = f"{run.peak_mb / reference.peak_mb:.2f}"
        status = f"  {run.note}" if run.note else ""
        if not run.ok:
            status = f"  FAILED: {run.note}"
        print(
            f"{run.tool:<36} {run.case:<28} {run.seconds:>8.2f} {run.peak_mb:>8.0f} "
            f"{ratio:>7} {mem:>6}{status}"
        )


if __name__ == "__main__":
    main()
