"""Control secrets: one per BIND server or primary in SITE/secrets/control/, made on first use."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from zonesmith.diagnostics import Position, SiteError, error
from zonesmith.model import Server, Site
from zonesmith.site.files import display_path

#: Where the secrets live, relative to the site; kept out of git like every secret.
CONTROL_FOLDER = "secrets/control"
#: The name under which a server's control secret travels with the TSIG secrets
#: (a '/' is in no key name, so it never shadows one).
_PREFIX = "control/"


def control_secret_name(server: str) -> str:
    """The entry of a server's control secret among the secrets handed to compile."""
    return _PREFIX + server


def needs_control_secret(server: Server) -> bool:
    """Whether the server needs a shared secret: BIND's rndc key, a primary's deploy key.

    Knot, NSD and Unbound are controlled through a unix socket under the
    server's path, which file modes guard; but every primary admits a deploy's
    zone transfers from its own host signed with this secret.
    """
    return server.software == "bind" or server.role == "primary"


def read_control_secrets(site: Site) -> dict[str, str]:
    """Every server's control secret it needs, by :func:`control_secret_name`.

    A missing secret is made (32 random bytes, base64, mode 0600, in a 0700
    folder), so a first build needs no setup and every later build writes the
    same key. Raises SiteError when a secret can neither be read nor made.
    """
    return {
        control_secret_name(server.name): control_secret(Path(site.root), server)
        for server in site.servers
        if needs_control_secret(server)
    }


def control_secret(root: Path, server: Server) -> str:
    """The control secret of ``server``, made on first use; never in any message."""
    path = root / CONTROL_FOLDER / f"{server.name}.key"
    shown = display_path(path)
    if "/" in server.name or server.name.startswith("."):
        raise SiteError(
            [error(server.position, "bad-secret", f"server '{server.name}': no safe file name")]
        )
    try:
        if not path.exists():
            _make_secret(path)
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        if path.parent.exists() and not path.parent.is_dir():
            reason = f"{CONTROL_FOLDER} is not a folder"
        raise SiteError(
            [
                error(
                    Position(shown),
                    "missing-secret",
                    f"server '{server.name}': cannot read or create its control secret: {reason}",
                )
            ]
        ) from None
    try:
        if not text or not base64.b64decode(text, validate=True):
            raise ValueError
    except (binascii.Error, ValueError):
        raise SiteError(
            [
                error(
                    Position(shown),
                    "bad-secret",
                    f"server '{server.name}': {shown} does not hold a base64 secret; delete it "
                    "and build again to make a new one",
                )
            ]
        ) from None
    return text


def _make_secret(path: Path) -> None:
    """A new random secret at ``path`` (mode 0600, in a folder of mode 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    made = base64.b64encode(secrets.token_bytes(32)).decode() + "\n"
    try:
        # O_EXCL: two builds at once never give one server two secrets.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another build made it first: that one stands
    with os.fdopen(fd, "w") as file:
        file.write(made)
