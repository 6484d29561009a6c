"""What zonesmith.yaml declares, as values: the site before its zones have records."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from zonesmith.diagnostics import Diagnostic
from zonesmith.model import (
    Site,
)

#: A record as written in YAML, before it is parsed against a zone's origin:
#: (owner, owner line, owner column, text, line, column, ttl or None, view or None,
#: file as shown). Line and column are where the record's text starts.
RecordSpec = tuple[str, int, int, str, int, int, int | None, str | None, str]


@dataclass(frozen=True, slots=True)
class ZoneSource:
    """Where a declared zone's own records come from."""

    #: its file (YAML or master file), if it has one
    path: str | None
    master: bool
    #: the TTL of records that give none
    ttl: int
    #: what else the records are made from, as a digest (see _records_context)
    context: str

    def __reduce__(self) -> tuple[type[ZoneSource], tuple[str | None, bool, int, str]]:
        return ZoneSource, (self.path, self.master, self.ttl, self.context)  # see Position


@dataclass(frozen=True)
class Declarations:
    """What zonesmith.yaml declares (see zonesmith.site.loader.Loader.load_declarations).

    ``site`` has no zones yet; ``zones`` are the declared zones without
    their records, each with where its records come from; ``sets`` are the
    sets' records as text; ``diagnostics`` what reading all this reported.
    """

    site: Site
    #: each zone as its constructor arguments (Zone.arguments, no records yet):
    #: a rebuild makes each zone once, with its records
    zones: list[tuple[tuple, ZoneSource]]
    sets: dict[str, list[RecordSpec]]
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    #: The files of the site folder whose existence the declarations depend on
    #: (an allowlist entry is a file if the site has it), and whether they
    #: existed: the folder's other files (the output, zonesmith's own) do not
    #: matter to them.
    probes: dict[str, bool] = dataclasses.field(default_factory=dict)
