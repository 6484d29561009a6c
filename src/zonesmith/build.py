"""The pipeline behind ``check`` and ``build``, and the atomic output tree.

load → validate → compile → render (drivers) → server checkers → swap in.
Nothing is written to the output when any stage reports an error, and the
output tree is replaced in one step, so after any crash it is the old tree
or the new one, never a mix.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from zonesmith import blocklists
from zonesmith.compile import compile_fleet, compile_site
from zonesmith.diagnostics import Diagnostic, Position, SiteError, error, sort_diagnostics
from zonesmith.drivers import OutputFile, driver_for
from zonesmith.firewall import render_nftables
from zonesmith.load import display_path, load_site, read_secret
from zonesmith.model import SOFTWARES, Site
from zonesmith.rules import validate

#: Marks a folder as zonesmith's output, which a build may replace whole.
MARKER = ".zonesmith-output"
MARKER_HEADER = (
    "# This folder is written by 'zonesmith build' and replaced on every build.\n"
    "# Files below are the ones zonesmith wrote; any other file is a server's own\n"
    "# (journals, transferred zones, databases) and is kept across builds.\n"
)


def check_site(root: Path) -> tuple[Site, list[Diagnostic]]:
    """Load and validate: every problem of the site, sorted."""
    site, diagnostics = load_site(root)
    if not any(d.is_error and d.rule in ("no-site",) for d in diagnostics):
        diagnostics += validate(site)
    return site, sort_diagnostics(diagnostics)


def read_secrets(site: Site) -> dict[str, str]:
    """The secret of every TSIG key (the rules made sure each can be read)."""
    return {key.name: read_secret(site.root, key) for key in site.keys}


@dataclass
class BuildResult:
    out: Path
    servers: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def build_site(root: Path, out: Path, *, server_checks: bool = True) -> BuildResult:
    """Check, compile, render and write the site's output tree.

    Raises SiteError (with every diagnostic) when anything is wrong; the
    output tree and the serial state are then left as they were.
    """
    site, diagnostics = check_site(root)
    if any(d.is_error for d in diagnostics):
        raise SiteError(diagnostics)
    secrets = read_secrets(site)
    compiled = compile_site(site)
    catalog_consumers = {
        software: bool(driver and driver.capabilities.catalog_consumer)
        for software in SOFTWARES
        for driver in [driver_for(software)]
    }
    builds = compile_fleet(compiled, secrets, catalog_consumers)
    result = BuildResult(out)
    files: dict[str, OutputFile] = {}
    checks = []
    for server in site.servers:
        driver = driver_for(server.software)
        # The unsupported-role rule has stopped the build otherwise.
        assert driver is not None and server.role in driver.capabilities.roles
        build = builds[server.name]
        if server.role == "resolver":
            build = dataclasses.replace(build, blocklists=blocklists.compiled_for(site, server))
        rendered = driver.render(build, server.path)
        if server.role != "resolver":
            rendered["nftables.conf"] = OutputFile(render_nftables(build).encode())
        for relative, output in rendered.items():
            files[f"{server.name}/{relative}"] = output
        checks.append((driver, build))
        result.servers.append(server.name)

    manifest = MARKER_HEADER + "".join(f"{name}\n" for name in sorted(files))
    files[MARKER] = OutputFile(manifest.encode())
    staging = _staging_dir(out)
    try:
        _write_files(staging, files)
        if server_checks:
            for driver, build in checks:
                display = display_path(out / build.server.name)
                diagnostics += driver.check(build, staging / build.server.name, display)
        if any(d.is_error for d in diagnostics):
            raise SiteError(sort_diagnostics(diagnostics))
        _swap_in(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    _write_atomically(compiled.state.path, compiled.state.text().encode())
    result.diagnostics = sort_diagnostics(diagnostics)
    return result


# --------------------------------------------------------------------------
# The output tree


def _staging_dir(out: Path) -> Path:
    """A fresh folder beside ``out`` (same file system, so rename is atomic)."""
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise SiteError(
            [
                error(
                    Position(display_path(out)),
                    "output",
                    "the output path exists and is not a folder",
                )
            ]
        )
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SiteError(
            [
                error(
                    Position(display_path(out)),
                    "output",
                    "the output folder exists and was not written by zonesmith; "
                    "choose an empty or new folder with -o",
                )
            ]
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    for leftover in out.parent.glob(f".{out.name}.zonesmith-*"):
        shutil.rmtree(leftover, ignore_errors=True)  # from a build that crashed
    staging = out.parent / f".{out.name}.zonesmith-new"
    staging.mkdir()
    return staging


def _write_files(root: Path, files: dict[str, OutputFile]) -> None:
    for relative, output in sorted(files.items()):
        path = root / relative
        if relative.endswith("/"):  # a folder the server writes into
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, output.mode)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create with the final mode so a secret is never readable, even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, output.mode)
        with os.fdopen(fd, "wb") as stream:
            stream.write(output.content)
        os.chmod(path, output.mode)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _keep_server_files(old: Path, new: Path) -> None:
    """Hard-link the servers' own files of the old tree into the new one.

    A server running from OUT keeps transferred zones, journals and
    databases there; a rebuild must not pull them from under it. What the
    old manifest does not list was written by a server, not by zonesmith.
    """
    try:
        written = {
            line
            for line in (old / MARKER).read_text().splitlines()
            if line and not line.startswith("#")
        }
    except OSError:
        return
    for path in sorted(old.rglob("*")):
        relative = path.relative_to(old).as_posix()
        if relative == MARKER or relative in written or path.is_dir() or path.is_symlink():
            continue
        target = new / relative
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


def _swap_in(staging: Path, out: Path) -> None:
    """Make ``staging`` the output tree; the old tree ends up in ``staging``."""
    out = out.absolute()
    if not out.exists():
        staging.rename(out)
        return
    _keep_server_files(out, staging)
    if _exchange(staging, out):
        return
    # Without an atomic exchange, keep the window between the two renames short.
    old = out.parent / f".{out.name}.zonesmith-old"
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _write_atomically(path: Path, content: bytes) -> None:
    if path.exists() and path.read_bytes() == content:
        return
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
