"""The office's hand-kept BIND server, shared by the named.conf and AXFR tests."""

from __future__ import annotations

import pytest
from import_helpers import (
    KEYS_CONF,
    NAMED_CONF,
    ZONE_FILES,
    write,
)
from servers import free_port, start_named


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """The hand-kept BIND server of the story, running on a loopback port."""
    root = tmp_path_factory.mktemp("office")
    port = free_port()
    write(root / "named.conf", NAMED_CONF.format(directory=root / "zones", port=port))
    write(root / "keys.conf", KEYS_CONF)
    for name, text in ZONE_FILES.items():
        write(root / "zones" / name, text)
    # named reads include files relative to its working directory, as BIND always has.
    with start_named(
        root / "named.conf", "127.0.0.1", port, "example.com", root / "named.log", cwd=root
    ):
        yield root, port
