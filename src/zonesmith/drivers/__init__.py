"""Server software drivers: one module per software, behind one small interface.

A driver turns what one server serves (a :class:`ServerBuild`) into that
software's files, runs that software's own checker on them, and declares
what the software can do. Everything one must know about BIND lives in
:mod:`zonesmith.drivers.bind`; adding a software is adding a module and a
line to ``_DRIVERS``.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import ClassVar

from zonesmith.compile.fleet import Secret, ServedZone, ServerBuild
from zonesmith.compile.zones import CompiledZone
from zonesmith.diagnostics import Diagnostic
from zonesmith.drivers.command import Command
from zonesmith.drivers.control import ServerChange, restart_reason
from zonesmith.model import Capabilities


@dataclass(frozen=True)
class OutputFile:
    """A file of a server's output, relative to its folder.

    A file holding a zone's content is made by :meth:`of_zone`, and nothing
    else may depend on a zone's records: a rebuild whose declarations, keys
    and blocklists are unchanged writes such files again for the zones that
    changed, and takes every other file as the last build wrote it (see
    zonesmith.output.memo.replay).
    """

    content: bytes
    mode: int = 0o644
    #: The zone this file is the master file of.
    zone: CompiledZone | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of_zone(cls, zone: CompiledZone) -> OutputFile:
        """The master file of ``zone``."""
        return cls(zone.master_file(), zone=zone)


@dataclass(frozen=True)
class CheckerRun:
    """The outcome of one run of a software's own checker."""

    command: tuple[str, ...]
    returncode: int
    output: str


class Driver(ABC):
    software: ClassVar[str]
    #: The name of the main configuration file in OUT/<server>/.
    config_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    #: The software's own checkers that :meth:`check` runs where they are installed.
    checkers: ClassVar[tuple[str, ...]]

    @abstractmethod
    def render(self, build: ServerBuild, path: str) -> dict[str, OutputFile]:
        """Every file of the server, relative to its folder; ``path`` is where
        that folder lives on the server, and what the configuration refers to."""

    @abstractmethod
    def check(self, build: ServerBuild, staged: Path, display: str) -> list[Diagnostic]:
        """Run the software's own checker on the files staged in ``staged``.

        ``staged`` is absolute: the checkers do not run in the working
        directory. ``display`` is how the server's output folder is shown to
        the user. Returns nothing when the checker is not installed (see
        :func:`skipped_checks`).
        """

    # -- a deploy (see zonesmith.drivers.control) ------------------------------

    @abstractmethod
    def render_check_config(self, build: ServerBuild, staged: str) -> bytes:
        """The main configuration rendered for a full server tree staged at
        ``staged`` on the target, written there as ``<config_name>.check``."""

    @abstractmethod
    def check_command(self, build: ServerBuild, staged: str) -> Command:
        """The software's checker on the tree staged at ``staged`` (its ``.check`` config)."""

    @abstractmethod
    def reload_commands(self, build: ServerBuild, change: ServerChange) -> list[Command]:
        """What makes the running server take ``change`` once swapped in, as narrowly as the
        software allows ([] when nothing changed); run on its host, from its path."""

    def needs_restart(self, old: ServerBuild | None, new: ServerBuild) -> str | None:
        """Why ``new`` takes a restart (a deploy never restarts: it says so), or None."""
        return restart_reason(old, new)

    def zone_state_command(self, build: ServerBuild, view: str, name: str) -> Command | None:
        """What the control channel tells of a zone's state (for status), or None."""
        return None

    def key_store_check(
        self, build: ServerBuild, zone: str, view: str, algorithm: str
    ) -> Command | None:
        """A test, run on the server's host, that exits 0 when the key store of the zone
        the server signs still holds its keys of ``algorithm`` (a mnemonic such as
        ECDSAP256SHA256); its ``why`` names where the keys live. None: nothing to check."""
        return None

    def last_refresh(self, output: str, expire: int, now: datetime) -> datetime | None:
        """When a secondary last refreshed the zone, read from zone_state_command's output
        (``expire``: the zone's SOA expire, in seconds), or None where it does not say."""
        return None


#: Folders (as PATH) where server tools are looked up instead of PATH and the sbin folders.
TOOL_PATH_VARIABLE = "ZONESMITH_TOOL_PATH"


class Unquotable(ValueError):
    """A value that a configuration format cannot carry (loading refuses such values first)."""


# A line end or other control character would end a statement and start another.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def quoted(text: str, software: str, *, escapes: bool) -> str:
    """``text`` as a double-quoted string of ``software``'s configuration.

    Where the format has backslash escapes (BIND, Knot), ``\\`` and ``"`` are
    escaped; where it has none (NSD, Unbound), they cannot be written and are
    refused. Control characters are refused everywhere: no format can carry
    a line end inside a string. Raises Unquotable.
    """
    if _CONTROL.search(text) or (not escapes and ('"' in text or "\\" in text)):
        raise Unquotable(f"a {software} configuration cannot hold {text!r}")
    if escapes:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def find_tool(name: str) -> str | None:
    """A server tool on PATH or in the sbin folders Debian installs servers to.

    With ZONESMITH_TOOL_PATH set, only in the folders it lists: to check with
    another installed version of a server, or (empty) with none.
    """
    folders = os.environ.get(TOOL_PATH_VARIABLE)
    if folders is not None:
        return shutil.which(name, path=folders) if folders else None
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")


def skipped_checks(driver: Driver, build: ServerBuild) -> list[tuple[str, str]]:
    """(checker, server) of each of the driver's checkers that is not installed."""
    return [(tool, build.server.name) for tool in driver.checkers if find_tool(tool) is None]


def run_tool(argv: list[str], timeout: float = 600) -> CheckerRun:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return CheckerRun(tuple(argv), 124, f"{argv[0]} did not finish in {timeout:.0f} s")
    return CheckerRun(tuple(argv), result.returncode, (result.stdout + result.stderr).strip())


#: A server whose ``path`` is under one of these runs straight from a build
#: (``preview``, the tests), started by whoever built it: it keeps that identity
#: instead of switching to the software's own user. Production servers never
#: live there (emptied at boot, hidden by the units' PrivateTmp).
TEMPORARY_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")


def runs_from_temporary_folder(path: str) -> bool:
    return any(PurePosixPath(path).is_relative_to(folder) for folder in TEMPORARY_FOLDERS)


def redact(text: str, build: ServerBuild) -> str:
    """A checker's output without the secrets of the server's keys and control channel."""
    for key in build.keys:
        text = text.replace(key.secret, "(secret)")
    if build.control_secret:
        text = text.replace(build.control_secret, "(secret)")
    return text


def check_copy(
    config_name: str,
    config_text: str,
    argv: Callable[[str], list[str]],
    staged: Path,
    display: str,
    build: ServerBuild,
) -> CheckerRun:
    """Run a checker on a copy of a configuration rendered for the staged files.

    The server's own ``path`` may not exist where the build runs, so the
    driver renders its configuration again pointing at the staged folder;
    this writes it to a temporary file, runs ``argv(config_path)`` and gives
    the output back as the user should read it: paths of the output folder
    (``display``) instead of temporary ones, and no secrets.
    """
    with tempfile.TemporaryDirectory(prefix="zonesmith-check-") as tmp:
        conf = Path(tmp) / config_name
        conf.write_text(config_text)
        run = run_tool(argv(str(conf)))
    output = run.output.replace(str(conf), f"{display}/{config_name}")
    output = redact(output.replace(str(staged), display), build)
    return CheckerRun(run.command, run.returncode, output)


def flat_zone_file(zone: ServedZone) -> str:
    """Where a zone's file lives on a server without views, relative to its folder.

    A primary's zones under zones/, transferred ones under secondary/.
    """
    top = "zones" if zone.data is not None else "secondary"
    return f"{top}/{zone.file_stem}.zone"


def flat_zone_files(
    build: ServerBuild,
    render_keys: Callable[[tuple[Secret, ...]], str],
    keys: tuple[Secret, ...],
) -> dict[str, OutputFile]:
    """The key file (``render_keys`` writes ``keys`` there) and zone files of a server
    without views."""
    files = {}
    if keys:
        files["keys.conf"] = OutputFile(render_keys(keys).encode(), 0o600)
    for zone in build.zones:
        if zone.data is not None:
            files[flat_zone_file(zone)] = OutputFile.of_zone(zone.data)
        else:
            files["secondary/"] = OutputFile(b"", 0o755)  # the server writes them there
    return files


#: software -> (module, class) of its driver, imported when asked for: a
#: rebuild of a site of one software is mostly start-up.
_DRIVERS = {
    "bind": ("zonesmith.drivers.bind", "BindDriver"),
    "nsd": ("zonesmith.drivers.nsd", "NsdDriver"),
    "knot": ("zonesmith.drivers.knot", "KnotDriver"),
    "unbound": ("zonesmith.drivers.unbound", "UnboundDriver"),
}


def driver_for(software: str) -> Driver | None:
    found = _DRIVERS.get(software)
    if found is None:
        return None
    module, name = found
    cls: type[Driver] = getattr(importlib.import_module(module), name)
    return cls()
