"""Target: one server's files at its path on its host: lock, stage, check, swap, restore.

Only the files listed in the manifest (``PATH/.zonesmith/installed``) are
zonesmith's: whatever a running server wrote under its path (journals,
transferred zones, sockets, pid files) is never touched. Every step is a
script of :mod:`zonesmith.deploy.remote_sh` run through a
:class:`~zonesmith.deploy.transport.Transport`, so a target on this machine
and one over SSH go through the very same code.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import os
import re
import socket
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from zonesmith.deploy import remote_sh
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.transport import LOCAL, Completed, Transport
from zonesmith.drivers import OutputFile
from zonesmith.drivers.command import Command

#: A lock older than this is stale even if its process may still run.
STALE_AFTER = 3600.0
#: What the user is told to do about a stale lock (the command line's flag).
BREAK_LOCK_HINT = "if no deploy is running, break it with --break-lock"
#: Tests only: seconds the swap sleeps after moving each file in, so that a
#: test can kill it half-way.
SWAP_PAUSE_ENV = "ZONESMITH_TEST_SWAP_PAUSE"
#: Seconds a step on the target may take (a checker has its own Command.timeout).
STEP_TIMEOUT = 300.0
_ID = re.compile(r"\d{8}T\d{6}\.\d{6}Z")


def digest(content: bytes) -> str:
    """A file's digest as the manifest holds it (``b2sum -l 128``)."""
    return hashlib.blake2b(content, digest_size=16).hexdigest()


def check_relative(relative: str) -> str:
    """``relative`` if it is a path under a server's folder the scripts handle safely."""
    parts = relative.split("/")
    if (
        not relative
        or relative.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
        or parts[0] == remote_sh.STATE
        or any(ord(char) < 32 or char in "\\\x7f" for char in relative)
    ):
        raise DeployError(f"{relative!r} is not a file name a deploy can install")
    return relative


def new_id() -> str:
    """A release or staging id: the UTC time to the microsecond, so ids sort by time."""
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


@dataclass(frozen=True)
class Release:
    """A copy of a server's managed files as they were before a swap."""

    id: str
    time: datetime
    #: The digest of its manifest: two releases with the same one hold the same files.
    manifest_digest: str


@dataclass(frozen=True)
class Holder:
    """Who holds a target's lock."""

    who: str  # user@host
    pid: int
    since: float

    def line(self) -> str:
        return f"{self.who} {self.pid} {self.since:.0f}"

    @classmethod
    def parse(cls, line: str) -> Holder | None:
        fields = line.strip().split(" ")
        if len(fields) != 3 or not fields[1].isdigit() or not fields[2].isdigit():
            return None
        return cls(fields[0], int(fields[1]), float(fields[2]))

    def stale(self) -> str | None:
        """Why this lock is stale, or None while its deploy may still run."""
        if self.who.rpartition("@")[2] == socket.gethostname() and not _alive(self.pid):
            return "that process is gone"
        if time.time() - self.since > STALE_AFTER:
            return f"it is older than {STALE_AFTER / 3600:g} hour"
        return None

    def __str__(self) -> str:
        since = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.who} pid {self.pid} since {since}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_holder() -> str:
    """user@host of this process, as a lock records it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


class Target:
    """One server's files at ``path`` on the host ``transport`` reaches."""

    def __init__(self, transport: Transport, name: str, path: str, releases: int = 10) -> None:
        if not path.startswith("/"):
            raise DeployError(f"{name}: its path {path!r} is not absolute")
        self.transport = transport
        self.name = name
        self.path = path.rstrip("/") or "/"
        self.keep = max(releases, 1)
        self.state = f"{self.path}/{remote_sh.STATE}"

    # ----------------------------------------------------------------- running

    @property
    def where(self) -> str:
        host = self.transport.host
        return self.name if host == LOCAL else f"{self.name} ({host})"

    def _run(
        self,
        what: str,
        script: str,
        *args: str,
        input: bytes | None = None,
        timeout: float = STEP_TIMEOUT,
        ok: tuple[int, ...] = (0,),
    ) -> Completed:
        """Run ``script`` on the target; a failure is one sentence saying ``what`` failed."""
        try:
            done = self.transport.run(
                remote_sh.sh(script, self.path, *args), input=input, timeout=timeout
            )
        except DeployError as problem:
            raise DeployError(f"{self.name}: {problem}") from None
        if done.returncode not in ok:
            missing = done.returncode == 127  # the shell's "command not found"
            needs = " (the host needs POSIX sh, coreutils and tar)" if missing else ""
            raise DeployError(f"{self.where}: {what} failed: {done.message()}{needs}")
        return done

    # ----------------------------------------------------------------- the lock

    @contextlib.contextmanager
    def lock(self, who: str | None = None) -> Iterator[Holder]:
        """Hold the target's lock; a swap a killed deploy left half-done is
        finished first. A held lock is a DeployError naming its holder, and so
        is a stale one: it is never broken but by :meth:`break_lock`."""
        holder = Holder(who or default_holder(), os.getpid(), time.time())
        attempt = f"{os.getpid()}.{new_id()}"
        done = self._run(
            f"taking the lock in {self.state}",
            remote_sh.TAKE_LOCK,
            attempt,
            holder.line(),
            ok=(0, 3),
        )
        if done.returncode == 3:
            raise DeployError(self._held(done.stdout.decode("utf-8", "replace")))
        try:
            self.finish()
            yield holder
        except BaseException:
            # The first problem is the one to tell; if the host is gone, the
            # lock stays, and is reported stale to the next deploy.
            with contextlib.suppress(DeployError):
                self._release(holder)
            raise
        self._release(holder)

    def _release(self, holder: Holder) -> None:
        self._run("releasing the lock", remote_sh.RELEASE_LOCK, holder.line())

    def _held(self, line: str) -> str:
        other = Holder.parse(line)
        if other is None:
            return f"{self.where}: locked ({self.state}/lock holds {line.strip()!r}); " + (
                BREAK_LOCK_HINT
            )
        reason = other.stale()
        if reason is not None:
            return f"{self.where}: stale lock of {other} ({reason}); {BREAK_LOCK_HINT}"
        return f"{self.where}: locked by {other}: another deploy is running"

    def holder(self) -> Holder | None:
        """Who holds the lock now, if anyone."""
        line = self._read(f"{remote_sh.STATE}/lock")
        return None if line is None else Holder.parse(line.decode("utf-8", "replace"))

    def break_lock(self) -> None:
        """Remove the lock, whoever holds it (the user said so)."""
        self._run("breaking the lock", remote_sh.BREAK_LOCK)

    def finish(self) -> bool:
        """Finish a swap that was cut off half-way; whether there was one."""
        pending = self._read(f"{remote_sh.STATE}/journal") is not None
        if pending:
            self._run("finishing the last swap", remote_sh.FINISH, "")
        return pending

    # ----------------------------------------------------------------- reading

    def _read(self, relative: str) -> bytes | None:
        done = self._run(f"reading {relative}", remote_sh.READ, relative, ok=(0, 3))
        return None if done.returncode == 3 else done.stdout

    def read(self, relative: str) -> bytes | None:
        """The content of a file under the target's path, or None if there is none."""
        return self._read(check_relative(relative))

    def _list(self, folder: str, manifest: str) -> dict[str, tuple[str, int]]:
        """Digest and mode of each file ``manifest`` lists that exists under ``folder``."""
        done = self._run(f"reading {manifest}", remote_sh.LIST, folder, manifest)
        digests, _, modes = done.stdout.decode("utf-8", "surrogateescape").partition("--\n")
        found = {}
        for line in digests.splitlines():
            value, _, relative = line.partition("  ./")
            found[relative] = value
        result = {}
        for line in modes.splitlines():
            mode, _, relative = line.partition(" ./")
            if relative in found:
                result[relative] = (found[relative], int(mode, 8))
        return result

    def files(self) -> dict[str, tuple[str, int]]:
        """Digest and mode of every managed file as it is now."""
        return self._list(self.path, f"{self.state}/installed")

    def installed(self) -> dict[str, str]:
        """Relative path -> digest of every zonesmith-managed file at the path now
        (a file edited by hand has its new digest; one deleted is absent)."""
        return {relative: value for relative, (value, _) in self.files().items()}

    # ----------------------------------------------------------------- staging

    def staging_folder(self) -> str:
        """A new staging folder's path, for a checker's configuration that must
        name it before :meth:`stage` makes it (pass it as ``staged``)."""
        return f"{self.state}/staging/{new_id()}/tree"

    def stage(
        self,
        files: Mapping[str, OutputFile],
        extra: Mapping[str, OutputFile] | None = None,
        staged: str | None = None,
    ) -> str:
        """Put the full new tree in a staging folder beside the live files
        (``staged``, from :meth:`staging_folder`, or a new one) and return it.
        Only files that differ from the live ones are sent; the others are
        copied on the target. ``extra`` files (the checker's configuration) are
        staged too, but never moved in. Needs the lock."""
        staging = self._staging_folder(staged or self.staging_folder()).rpartition("/")[2]
        live = self.files()
        wanted = {check_relative(name): file for name, file in files.items()}
        changed = sorted(
            name
            for name, file in wanted.items()
            if live.get(name) != (digest(file.content), file.mode & 0o7777)
        )
        lists = {
            "changed": changed,
            "removed": sorted(set(live) - set(wanted)),
            "keep": sorted(set(wanted) & set(live) - set(changed)),
        }
        manifest = "".join(f"{digest(wanted[name].content)}  ./{name}\n" for name in sorted(wanted))
        sent = {name: wanted[name] for name in changed}
        sent.update({check_relative(name): file for name, file in (extra or {}).items()})
        return self._stage(staging, lists, manifest, sent, "")

    def _stage(
        self,
        staging: str,
        lists: Mapping[str, list[str]],
        manifest: str,
        sent: Mapping[str, OutputFile],
        source: str,
    ) -> str:
        stream = io.BytesIO()
        with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, "manifest", manifest.encode(), 0o644)
            for name in ("changed", "removed", "keep", "take"):
                paths = "".join(f"./{path}\n" for path in lists.get(name, ()))
                _add(tar, name, paths.encode(), 0o644)
            for name, file in sent.items():
                _add(tar, f"tree/{name}", file.content, file.mode & 0o7777)
        self._run(
            f"staging in {self.state}/staging",
            remote_sh.STAGE,
            staging,
            source,
            input=stream.getvalue(),
        )
        return f"{self.state}/staging/{staging}/tree"

    def check(self, command: Command, staged: str) -> Completed:
        """Run ``command`` (the software's checker) in the staged folder; its
        outcome is a value, whatever the exit status."""
        if not command.argv:
            raise DeployError(f"{self.where}: an empty command cannot check {staged}")
        try:
            return self.transport.run(
                remote_sh.sh(remote_sh.IN_FOLDER, staged, *command.argv),
                timeout=command.timeout,
            )
        except DeployError as problem:
            raise DeployError(f"{self.name}: {command.why}: {problem}") from None

    # ----------------------------------------------------------------- swapping

    def swap(self, staged: str, release: bool = True) -> str:
        """Move the staged files in: a release copy of the managed files first
        (the last ``releases`` kept), then each changed file by rename with its
        mtime now, managed files no longer built removed, the new manifest. A
        journal makes a swap cut off half-way finish at the next lock, swap or
        restore. Returns the id of the release copy ("" without one)."""
        release_id = new_id() if release else ""
        self._run(
            f"swapping in {staged}",
            remote_sh.SWAP,
            os.environ.get(SWAP_PAUSE_ENV, ""),
            self._staging_folder(staged),
            release_id,
            str(self.keep),
        )
        return release_id

    def _staging_folder(self, staged: str) -> str:
        folder, _, last = staged.rpartition("/")
        parent, _, staging = folder.rpartition("/")
        if last != "tree" or parent != f"{self.state}/staging" or not _ID.fullmatch(staging):
            raise DeployError(f"{self.where}: {staged} is not a folder stage() made")
        return folder

    def releases(self) -> list[Release]:
        """The release copies kept, oldest first."""
        done = self._run("listing the releases", remote_sh.RELEASES)
        found = []
        for line in done.stdout.decode("utf-8", "replace").splitlines():
            release, _, manifest_digest = line.partition(" ")
            if _ID.fullmatch(release):
                when = datetime.strptime(release, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
                found.append(Release(release, when, manifest_digest))
        return sorted(found, key=lambda found: found.id)

    def restore(self, release: str) -> None:
        """Put the files of release ``release`` back, the way a swap does (no new
        release copy); managed files it does not hold are removed."""
        if not _ID.fullmatch(release):
            raise DeployError(f"{self.where}: {release!r} is not a release id")
        self.finish()
        folder = f"{self.state}/releases/{release}"
        manifest = self._read(f"{remote_sh.STATE}/releases/{release}/manifest")
        if manifest is None:
            known = ", ".join(found.id for found in self.releases()) or "none"
            raise DeployError(f"{self.where}: no release {release} (releases: {known})")
        old = self._list(f"{folder}/files", f"{folder}/manifest")
        live = self.files()
        lists = {
            "changed": sorted(name for name in old if live.get(name) != old[name]),
            "removed": sorted(set(live) - set(old)),
        }
        lists["take"] = lists["changed"]
        staged = self._stage(new_id(), lists, manifest.decode(), {}, f"{folder}/files")
        self.swap(staged, release=False)


def _add(tar: tarfile.TarFile, name: str, content: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(content))
