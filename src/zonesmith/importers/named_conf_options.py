"""What the options of a ``named.conf`` say: where its zone files are, the address and port of
the server, and which options the build writes itself or does not carry over."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable
from pathlib import Path

from zonesmith.diagnostics import Position
from zonesmith.importers.named_conf_parser import ConfStatement, statement_text
from zonesmith.site.files import display_path

Warn = Callable[..., None]  # warn(position, message, rule="not-carried-over")

#: Options zonesmith's BIND driver writes itself, with the value it writes.
_DRIVER_OPTIONS = {
    "recursion": "no",
    "allow-recursion": "{ none; }",
    "allow-query-cache": "{ none; }",
    "allow-transfer": "{ none; }",
    "notify": "explicit",
    "version": "none",
    "hostname": "none",
    "server-id": "none",
    "minimal-any": "yes",
    "dnssec-validation": "no",
}
#: Working files the build places under the server's path.
_WORKING_FILES = frozenset(
    {"directory", "pid-file", "session-keyfile", "managed-keys-directory", "dump-file",
     "statistics-file", "memstatistics-file", "listen-on", "listen-on-v6", "port"}
)  # fmt: skip


class ServerOptions:
    """The options of a named.conf (top level and per view), read for what the site keeps."""

    def __init__(self, path: Path, warn: Warn):
        self.path = path
        self.warn = warn
        self.directory = path.parent
        self.listen: list[tuple[str, int, Position]] = []
        self.port = 53

    def read_options(self, statement: ConfStatement) -> None:
        self.read_option_list(statement.block.statements if statement.block else [], "options")

    def read_option_list(self, options: list[ConfStatement], where: str) -> None:
        for option in options:
            keyword = option.keyword
            if keyword == "directory" and where == "options":
                directory = Path(option.arg(1) or ".")
                self.directory = (
                    directory if directory.is_absolute() else self.path.parent / directory
                )
            elif keyword in ("listen-on", "listen-on-v6") and where == "options":
                self.read_listen(option)
            elif keyword == "port" and where == "options" and (option.arg(1) or "").isdigit():
                self.port = int(option.arg(1))  # type: ignore[arg-type]
            elif keyword in _WORKING_FILES:
                continue
            elif keyword in _DRIVER_OPTIONS:
                value = statement_text(option)[len(option.words[0].text) :].strip()
                if value != _DRIVER_OPTIONS[keyword]:
                    self.warn(
                        option.position,
                        f"{where}: '{keyword} {value}' is not carried over: the build writes "
                        f"'{keyword} {_DRIVER_OPTIONS[keyword]};'",
                    )
            else:
                self.warn(
                    option.position,
                    f"{where}: '{option.describe()}' is not carried over: zonesmith does not "
                    "model this option",
                )

    def read_listen(self, option: ConfStatement) -> None:
        words = [w.text for w in option.words]
        port = self.port
        if "port" in words[1:-1]:
            with contextlib.suppress(ValueError):
                port = int(words[words.index("port") + 1])
        for element in option.block.statements if option.block else []:
            text = element.arg(0)
            if text is None or element.block is not None:
                continue
            with contextlib.suppress(ValueError):
                self.listen.append((str(ipaddress.ip_address(text)), port, element.position))

    def infer_server(self, primary_zones: int) -> dict[str, object] | None:
        """The site's server ns1, from where named listens (None if it cannot be told)."""
        where = Position(display_path(self.path))
        if not primary_zones:
            return None
        if not self.listen:
            self.warn(
                where,
                "the server's address cannot be told (no listen-on with an "
                "address): add it under servers in zonesmith.yaml",
                "server-not-inferred",
            )
            return None
        address, port, position = self.listen[0]
        if len(self.listen) > 1:
            self.warn(
                position,
                f"named listens on several addresses; server ns1 uses {address}",
                "server-address",
            )
        server: dict[str, object] = {"software": "bind", "role": "primary", "address": address}
        if port != 53:
            server["port"] = port
        return server
