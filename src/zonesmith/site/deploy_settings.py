"""Deploy settings of zonesmith.yaml: a server's ``host`` and ``control-port``, ``deploy:``."""

from __future__ import annotations

import re

from zonesmith.model import DeploySettings
from zonesmith.site.yaml_nodes import SourceFile, yaml

#: ``ssh://[user@]host[:port]``: user and host names of letters, digits, '.', '-' and '_'
#: only, so a host can never smuggle an option or a shell word into the ssh command line.
_SSH_URL = re.compile(
    r"ssh://(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9._-]+)(?::(?P<port>[0-9]+))?"
)


def ssh_url_problem(url: str) -> str | None:
    """Why ``url`` is not a host zonesmith can reach, or None."""
    match = _SSH_URL.fullmatch(url)
    if match is None or match["host"].startswith("-") or (match["user"] or "").startswith("-"):
        return (
            f"host '{url}' must be ssh://[user@]host[:port], user and host of letters, "
            "digits, '.', '-' and '_'"
        )
    if match["port"] is not None and not 1 <= int(match["port"]) <= 65535:
        return f"host '{url}': port {match['port']} must be a number from 1 to 65535"
    return None


class DeploySection:
    """``deploy:`` and the server fields a deploy reads (mixed into the Loader)."""

    def load_host(self, source: SourceFile, node: yaml.Node, where: str) -> tuple[str | None, bool]:
        """A server's ``host``, and whether it is valid."""
        url = self.scalar(source, node, f"{where} host")
        if url is None:
            return None, False
        if problem := ssh_url_problem(url):
            self.error(source.at(node), "bad-value", f"{where}: {problem}")
            return None, False
        return url, True

    def load_control_port(
        self, source: SourceFile, node: yaml.Node, where: str, software: str
    ) -> tuple[int | None, bool]:
        """A BIND server's ``control-port`` (its rndc channel), and whether it is valid."""
        text = self.scalar(source, node, f"{where} control-port") or ""
        if software and software != "bind":
            self.error(
                source.at(node),
                "bad-value",
                f"{where}: control-port is for BIND servers only "
                f"({software} is controlled through a local socket)",
            )
            return None, False
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            self.error(
                source.at(node),
                "bad-value",
                f"{where}: control-port '{text}' must be a number from 1 to 65535",
            )
            return None, False
        return int(text), True

    def load_deploy(self, source: SourceFile, node: yaml.Node | None) -> DeploySettings:
        fields = ("verify-timeout", "mass-change", "releases")
        entries = self.mapping(source, node, fields, "deploy")
        settings = DeploySettings()
        timeout = settings.verify_timeout
        if "verify-timeout" in entries:
            seconds = self.duration(source, entries["verify-timeout"][1], "deploy verify-timeout")
            if seconds is not None and seconds < 1:
                self.error(
                    source.at(entries["verify-timeout"][1]),
                    "bad-value",
                    "deploy verify-timeout must be at least 1s",
                )
            elif seconds is not None:
                timeout = float(seconds)
        share = settings.mass_change
        if "mass-change" in entries:
            node = entries["mass-change"][1]
            text = (self.scalar(source, node, "deploy mass-change") or "").strip()
            number = text.removesuffix("%").strip()
            if re.fullmatch(r"[0-9]+(\.[0-9]+)?", number) and 0 < float(number) <= 100:
                share = float(number) / 100
            else:
                self.error(
                    source.at(node),
                    "bad-value",
                    f"deploy mass-change '{text}' must be a percentage above 0 and "
                    "at most 100, e.g. 30%",
                )
        releases = settings.releases
        if "releases" in entries:
            node = entries["releases"][1]
            text = self.scalar(source, node, "deploy releases") or ""
            if text.isdigit() and 1 <= int(text) <= 1000:
                releases = int(text)
            else:
                self.error(
                    source.at(node),
                    "bad-value",
                    f"deploy releases '{text}' must be a number from 1 to 1000",
                )
        return DeploySettings(timeout, share, releases)
