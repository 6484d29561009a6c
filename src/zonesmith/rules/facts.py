"""What the rules judge besides the model: found by the pipeline before they run.

The rules read no file and ask no driver: whether a secret can be read,
whether a blocklist file exists or a source was fetched, what each
server software can do, and (``check --online``) what DNS answers for the
names outside the site that the mail rules follow are found once, here
given as values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from zonesmith.model import Capabilities, TsigKey
from zonesmith.site.secrets import SecretError


@dataclass(frozen=True)
class OutsideAnswers:
    """What DNS answered for names outside the site (absolute, lower case); a name absent
    from a mapping was not answered (see ``failed``): it stays not checked."""

    #: name -> its TXT strings joined, one per record (empty: NXDOMAIN or no TXT)
    txt: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: name -> whether it has MX records
    mx: Mapping[str, bool] = field(default_factory=dict)
    #: name -> whether it has A or AAAA records
    address: Mapping[str, bool] = field(default_factory=dict)
    #: name -> why it was not answered (a timeout, SERVFAIL, the deadline)
    failed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteFacts:
    """Facts about a site that its model does not hold."""

    #: each TSIG key whose secret cannot be used, and why
    secret_problems: Mapping[TsigKey, SecretError] = field(default_factory=dict)
    #: blocklist entries (sources and allowlists) naming a file the site does not have
    missing_files: frozenset[str] = frozenset()
    #: source URLs of served blocklists that have not been fetched yet
    unfetched: frozenset[str] = frozenset()
    #: software -> what zonesmith can build of it; a software without a driver is absent
    capabilities: Mapping[str, Capabilities] = field(default_factory=dict)
    #: answers for names outside the site (check --online); None: nothing was looked up
    outside: OutsideAnswers | None = None
