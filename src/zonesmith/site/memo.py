"""What load_site asks of a memo of earlier runs, and the memo that remembers nothing.

Only :func:`zonesmith.site.loader.load_site`, at the boundary of the
loader's steps, asks it: the Loader itself never sees a memo. Where earlier
runs are kept is not known here: the build gives one
(:class:`zonesmith.output.cache.ZoneCache`), or everything is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from zonesmith.declared import Declarations
from zonesmith.diagnostics import Diagnostic
from zonesmith.model import Record, RuleSwitch


class SiteMemo(Protocol):
    """zonesmith.yaml's declarations and each zone's records, as earlier runs read them."""

    def declarations_key(self, site_file: Path, zones_dir: Path) -> str | None: ...

    def declarations(self, key: str | None) -> Declarations | None: ...

    def keep_declarations(self, key: str | None, declarations: Declarations) -> None: ...

    def content_digest(self, path: str) -> tuple[str, bool, bytes | None] | None: ...

    def fingerprint(self, *parts: str) -> str | None: ...

    def records(
        self, fingerprint: str | None
    ) -> tuple[Sequence[Record], list[Diagnostic], tuple[RuleSwitch, ...]] | None: ...

    def keep_records(
        self,
        fingerprint: str | None,
        records: Sequence[Record],
        diagnostics: Sequence[Diagnostic],
        origin: str,
        switches: tuple[RuleSwitch, ...] = (),
    ) -> None: ...


class NoMemo:
    """Remembers nothing: every zone is read at every run (caching off)."""

    def declarations_key(self, site_file: Path, zones_dir: Path) -> str | None:
        return None

    def declarations(self, key: str | None) -> Declarations | None:
        return None

    def keep_declarations(self, key: str | None, declarations: Declarations) -> None:
        pass

    def content_digest(self, path: str) -> tuple[str, bool, bytes | None] | None:
        return None

    def fingerprint(self, *parts: str) -> str | None:
        return None

    def records(
        self, fingerprint: str | None
    ) -> tuple[Sequence[Record], list[Diagnostic], tuple[RuleSwitch, ...]] | None:
        return None

    def keep_records(
        self,
        fingerprint: str | None,
        records: Sequence[Record],
        diagnostics: Sequence[Diagnostic],
        origin: str,
        switches: tuple[RuleSwitch, ...] = (),
    ) -> None:
        pass
