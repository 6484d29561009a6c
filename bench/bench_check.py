"""Benchmark: ``zonesmith check`` of a site of many zones with mail records, before and after.

    python bench/bench_check.py                       # 10,000 zones, this checkout
    python bench/bench_check.py --compare 406de6d     # and the same site at another revision
    python bench/bench_check.py --zones 2000 --peer   # with named-checkzone on every zone

It generates a site in a temporary folder: ``--zones`` zones (YAML files,
as generated zones are), each with two NS (a shared set), an address, an
MX, SPF, DMARC and a DKIM TXT with a 2048-bit RSA key, and a few more
addresses; one reverse zone (a master file) with the PTR of every zone's
mail host. Then it times, each as a fresh process (wall time and peak
resident memory, see bench_zones.measure), ``--rounds`` times (the median
is shown):

- ``check --no-cache``: everything read and checked;
- ``check`` with the cache of an earlier run (the run that made it is not shown);
- ``check`` after one zone's file is edited, with that cache.

With ``--compare REV`` the same runs are made with the code of git revision
REV (exported with ``git archive`` to a temporary folder, nothing checked
out), the two taking turns so that the drift of a shared machine falls on
both. ``--peer`` adds named-checkzone on every zone (a master file with
SOA written for it, one process per zone, as a script would run it): the
zone part of a check, as BIND's own checker does it. It is a benchmark, not
a test: nothing asserts; the numbers are for people.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_zones import SITE_HEADER, SOA, measure

ROOT = Path(__file__).resolve().parents[1]


def dkim_key() -> str:
    """A 2048-bit RSA public key, base64 DER as DKIM writes it (made with openssl)."""
    private = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True).stdout
    der = subprocess.run(
        ["openssl", "rsa", "-pubout", "-outform", "DER"],
        input=private,
        capture_output=True,
        check=True,
    ).stdout
    return base64.b64encode(der).decode()


def zone_records(n: int, name: str, key: str) -> list[str]:
    """The records of zone number ``n``, as lines of its YAML file."""
    net = f"10.{n >> 8 & 255}.{n & 255}"
    return [
        f"'@': [A {net}.80, MX 10 mail.{name}., 'TXT \"v=spf1 mx ip4:{net}.0/24 -all\"']",
        f"mail: A {net}.25",
        f"www: A {net}.80",
        f"vpn: AAAA 2001:db8:{n:x}::1",
        f"_dmarc: 'TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{name}\"'",
        # in strings of at most 255 octets, as master files need them
        f'sel1._domainkey: \'TXT "v=DKIM1; k=rsa; p={key[:200]}" "{key[200:]}"\'',
    ]


def write_site(root: Path, zones: int) -> Path:
    """The site of ``zones`` zones and their reverse zone; returns its folder."""
    site = root / "site"
    (site / "zones").mkdir(parents=True)
    key = dkim_key()
    names = [f"zone{n:05d}.example" for n in range(zones)]
    config = SITE_HEADER + "sets:\n  ns: {'@': [NS ns1.example.net., NS ns2.example.net.]}\n"
    config += "zones:\n" + "".join(f"  {name}: {{include: [ns]}}\n" for name in names)
    config += "  10.in-addr.arpa: {include: [ns]}\n"
    (site / "zonesmith.yaml").write_text(config)
    ptrs = ["$TTL 3600"]
    for n, name in enumerate(names):
        (site / "zones" / f"{name}.yaml").write_text("\n".join(zone_records(n, name, key)) + "\n")
        ptrs.append(f"25.{n & 255}.{n >> 8 & 255} IN PTR mail.{name}.")
    (site / "zones" / "10.in-addr.arpa.zone").write_text("\n".join(ptrs) + "\n")
    # As the files of a repository checked out a while ago: zonesmith re-reads
    # a file changed in the last seconds whatever its stat says (see cache).
    an_hour_ago = time.time() - 3600
    for path in (site / "zones").iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    return site


def edit_one_zone(site: Path, edit: int) -> None:
    """Give the first zone's www another address (the ``edit``-th), as a user edits one zone."""
    path = site / "zones" / "zone00000.example.yaml"
    lines = path.read_text().splitlines()
    www = f"www: A 10.0.0.{edit % 200 + 1}"
    lines = [www if line.startswith("www:") else line for line in lines]
    path.write_text("\n".join(lines) + "\n")


def write_peer_zones(root: Path, site: Path) -> Path:
    """The site's zones as master files with an SOA and NS, for named-checkzone; a
    script that checks them all, one process each."""
    folder = root / "peer"
    folder.mkdir()
    lines = ["set -e"]
    checkzone = shutil.which("named-checkzone") or "/usr/sbin/named-checkzone"
    head = f"$TTL 3600\n{SOA}\n@ IN NS ns1.example.net.\n@ IN NS ns2.example.net.\n"
    for path in sorted((site / "zones").iterdir()):
        if path.suffix != ".yaml":
            continue
        body = []
        for line in path.read_text().splitlines():
            owner, _, value = line.partition(": ")
            values = value[1:-1].split(", ") if value.startswith("[") else [value]
            for record in values:
                body.append(f"{owner.strip(chr(39))} IN {record.strip(chr(39))}")
        (folder / f"{path.stem}.zone").write_text(head + "\n".join(body) + "\n")
        lines.append(f"{checkzone} -q {path.stem} {folder / path.stem}.zone")
    script = folder / "check.sh"
    script.write_text("\n".join(lines) + "\n")
    return script


def revision(rev: str) -> str:
    """The full commit of ``rev`` (with '+changes' for a checkout with uncommitted edits)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    if rev == "HEAD":
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        commit += "+changes" if dirty.strip() else ""
    return commit


def export(rev: str, folder: Path) -> Path:
    """The source tree of ``rev``, exported into ``folder``; returns its src/."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", metavar="REV", help="also run the code of git revision REV")
    parser.add_argument("--peer", action="store_true", help="also named-checkzone on every zone")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="zonesmith-bench-check-"))
    results: dict[tuple[str, str], list[tuple[float, float, bool, str]]] = {}
    try:
        print(f"generating {args.zones:,} zones in {root} ...", file=sys.stderr)
        site = write_site(root, args.zones)
        codes = {revision("HEAD"): ROOT / "src"}
        edits = 0
        if args.compare:
            codes[revision(args.compare)] = export(args.compare, root / "compare")
        for round_ in range(args.rounds):
            for commit, src in codes.items():
                env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
                check = [sys.executable, "-m", "zonesmith", "check"]
                print(f"round {round_ + 1}: {commit} ...", file=sys.stderr)
                results.setdefault((commit, "check --no-cache"), []).append(
                    measure([*check, "--no-cache", str(site)], env=env)
                )
                shutil.rmtree(site / ".zonesmith", ignore_errors=True)
                measure([*check, str(site)], env=env)  # makes the cache
                results.setdefault((commit, "check, cached"), []).append(
                    measure([*check, str(site)], env=env)
                )
                edit_one_zone(site, edits := edits + 1)
                results.setdefault((commit, "check, one zone edited"), []).append(
                    measure([*check, str(site)], env=env)
                )
        if args.peer:
            script = write_peer_zones(root, site)
            print("running named-checkzone on every zone ...", file=sys.stderr)
            results[("named-checkzone", "every zone, one process each")] = [
                measure(["sh", str(script)])
            ]
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print(f"\n{args.zones:,} zones (NS, MX, SPF, DMARC, DKIM, addresses) and a reverse zone")
    print(f"{'code':<18} {'run':<30} {'wall s':>8} {'peak MB':>8}  runs")
    for (code, run), taken in results.items():
        seconds = statistics.median(t[0] for t in taken)
        peak = statistics.median(t[1] for t in taken)
        failed = [t[3] for t in taken if not t[2]]
        note = f"FAILED: {failed[0]}" if failed else ", ".join(f"{t[0]:.2f}" for t in taken)
        print(f"{code:<18} {run:<30} {seconds:>8.2f} {peak:>8.0f}  {note}")


if __name__ == "__main__":
    main()
