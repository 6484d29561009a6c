"""Loading a site: zonesmith.yaml, zones/*.yaml and zones/*.zone into the model.

The YAML is composed into nodes (PyYAML's C composer when available), not
constructed into Python objects, so that every value keeps its line and
column; scalars are read as the text the user wrote, which also avoids YAML
1.1 surprises such as ``no`` becoming false or ``010`` becoming 8. Zone files
that are flat mappings of one-line values, as generated zones of a million
records are, are read line by line instead (:func:`read_flat_zone`), giving
the same records and positions; PyYAML reads every other file.

Loading reports every problem it meets and goes on with what it could read,
so that one run of ``zonesmith check`` shows them all. What is wrong with the
*syntax* of one value is reported here; what is wrong with how values relate
to each other is for :mod:`zonesmith.rules`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import difflib
import hashlib
import importlib.util
import ipaddress
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.tokenizer

from zonesmith import rdata as rdtext
from zonesmith.cache import ZoneCache
from zonesmith.diagnostics import Diagnostic, Position, error, warning
from zonesmith.model import (
    DEFAULT_VIEW,
    ROLES,
    SOFTWARES,
    Blocklist,
    Defaults,
    Record,
    Reference,
    Server,
    Site,
    Soa,
    TsigKey,
    View,
    Zone,
)
from zonesmith.sitefiles import (
    MAX_LINE_BYTES,
    MAX_SITE_FILE_BYTES,
    MAX_ZONE_BYTES,
    ReadRefused,
    read_bounded,
    real_root,
    size_text,
)


def _imported_when_used(name: str) -> types.ModuleType:
    """Module ``name``, executed when first used (the importlib documentation's recipe)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, f"{name} is a dependency"
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


# A rebuild whose zonesmith.yaml is cached and whose changed zone files are
# flat (see read_flat_zone) parses no YAML; importing PyYAML would be a
# fortieth of its time.
yaml = _imported_when_used("yaml")


def _yaml_loader() -> type:
    """PyYAML's loader written in C when it has one."""
    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


SITE_FILE = "zonesmith.yaml"
ZONES_DIR = "zones"
MAX_TTL = 2**31 - 1
TSIG_ALGORITHMS = (
    "hmac-md5",
    "hmac-sha1",
    "hmac-sha224",
    "hmac-sha256",
    "hmac-sha384",
    "hmac-sha512",
)

_DURATION_PART = re.compile(r"(\d+)([smhdw])", re.IGNORECASE)
_DURATION = re.compile(r"(?:\d+[smhdw])+", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# --------------------------------------------------------------------------
# Scalars: durations, names, addresses


def parse_duration(text: str) -> int:
    """Seconds from ``3600``, ``1h``, ``1h30m`` or ``2W`` (BIND's units).

    Raises ValueError with a message saying what is accepted.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    if _DURATION.fullmatch(text):
        return sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_PART.findall(text))
    raise ValueError(
        f"'{text}' is not a duration; "
        "write seconds (3600) or BIND units such as 30s, 5m, 1h, 1d, 2w"
    )


def parse_ttl(text: str) -> int:
    """A TTL: a duration within 0..2^31-1 (RFC 2181 section 8)."""
    seconds = parse_duration(text)
    if seconds > MAX_TTL:
        raise ValueError(f"TTL {seconds} is out of range; the largest TTL is {MAX_TTL} (2^31-1)")
    return seconds


def describe_name_error(text: str, exc: Exception) -> str:
    """A readable reason why ``text`` is not a valid domain name."""
    if isinstance(exc, dns.name.LabelTooLong):
        return f"{shown(text)} has a label longer than 63 octets"
    if isinstance(exc, dns.name.NameTooLong):
        return f"{shown(text)} is longer than 255 octets"
    if isinstance(exc, dns.name.EmptyLabel):
        return f"{shown(text)} has an empty label (two dots in a row, or a leading dot)"
    return f"{shown(text)} is not a valid domain name: {exc}"


#: The longest server, view, key or blocklist name (as long as a DNS label).
MAX_IDENTIFIER = 63
# Server, view, key and blocklist names become file and folder names and
# configuration identifiers: letters, digits, '-', '_' and '.', never first.
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
# A zone, catalog or key name as dnspython writes it, in the characters that
# BIND, NSD, Knot and Unbound all take in their configurations (dnspython
# escapes quotes, spaces, ';' and control characters with a backslash, which
# no configuration format but BIND's can carry); '/' is RFC 2317's.
_CONFIG_NAME = re.compile(r"(?:[A-Za-z0-9_/-]+\.)*")
_CONFIG_OCTET = re.compile(rb"[^A-Za-z0-9_/-]")
# An e-mail address for the SOA contact in the same characters, plus '+'.
_CONTACT = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*@[A-Za-z0-9_.-]+|[A-Za-z0-9_.-]+")
# Octets no owner name may hold: servers take them escaped, but they are how a
# hostile zone smuggles quotes, spaces and line ends into tools that read it.
_UNSAFE_OWNER_OCTETS = re.compile(rb"[\x00-\x20\x7f\"'\\;{}]")
# A server's path is written into configurations, units and cron lines.
_SERVER_PATH = re.compile(r"/[A-Za-z0-9/._+@,=:-]*")
_SHOWN_LIMIT = 100


def shown(text: str) -> str:
    """``text`` quoted for a one-line message: escapes for controls, cut when long."""
    escaped = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )
    if len(escaped) > _SHOWN_LIMIT:
        escaped = escaped[:_SHOWN_LIMIT] + "..."
    return f"'{escaped}'"


def identifier_problem(name: str) -> str | None:
    """Why ``name`` cannot be a server, view, key or blocklist name, or None."""
    if _IDENTIFIER.fullmatch(name) and len(name) <= MAX_IDENTIFIER:
        return None
    rule = (
        f"use letters, digits, '-', '_' and '.' (not first), at most {MAX_IDENTIFIER} "
        "characters (it names files and configuration entries)"
    )
    if not name:
        return f"an empty name; {rule}"
    if len(name) > MAX_IDENTIFIER:
        return f"{shown(name)} is {len(name)} characters long; {rule}"
    if name[0] == ".":
        return f"{shown(name)} starts with a dot; {rule}"
    bad = next(c for c in name if not _IDENTIFIER.fullmatch("a" + c))
    return f"{shown(name)} holds {shown(bad)}; {rule}"


def config_name_problem(text: str) -> str | None:
    """Why a zone, catalog or key name (absolute, as dnspython writes it) cannot be
    written into a server's configuration, or None."""
    if _CONFIG_NAME.fullmatch(text) or text == ".":
        return None
    bad = _CONFIG_OCTET.search(b"".join(dns.name.from_text(text).labels))
    octet = bad[0].decode("latin-1") if bad else "."
    return (
        f"the name holds {shown(octet)}; server configurations take names of "
        "letters, digits, '-', '_' and '/' only"
    )


def unsafe_owner(name: str) -> str | None:
    """Why an owner name (absolute presentation text) is refused, or None."""
    if "\\" not in name and not _UNSAFE_OWNER_OCTETS.search(name.encode("utf-8", "replace")):
        return None
    labels = b"".join(dns.name.from_text(name).labels)
    bad = _UNSAFE_OWNER_OCTETS.search(labels)
    if bad is None:
        return None
    return (
        f"the name holds {shown(bad[0].decode('latin-1'))}; owner names may not hold "
        "spaces, control characters, quotes, backslashes, ';' or braces"
    )


def rname_from_contact(contact: str) -> dns.name.Name:
    """The SOA RNAME for an e-mail address (``hostmaster@example.com``).

    Dots in the local part are escaped, as RFC 1035 section 8 asks.
    A contact already written as a name is taken as it is.
    """
    if "@" in contact:
        local, _, domain = contact.rpartition("@")
        local = local.replace("\\", "\\\\").replace(".", "\\.")
        return dns.name.from_text(f"{local}.{domain.rstrip('.')}.")
    return dns.name.from_text(contact if contact.endswith(".") else contact + ".")


def check_address_match_element(text: str) -> str | None:
    """Why ``text`` is not a valid client (address match list element), or None."""
    element = text[1:].strip() if text.startswith("!") else text
    if element in ("any", "none", "localhost", "localnets"):
        return None
    try:
        ipaddress.ip_network(element, strict=False)
    except ValueError:
        return (
            f"'{text}' is not an address, a network (10.0.0.0/8) "
            "or one of any, none, localhost, localnets"
        )
    if "/" in element:
        network = ipaddress.ip_network(element, strict=False)
        if str(network) != element:
            return f"'{text}' has host bits set; write {network}"
    return None


# --------------------------------------------------------------------------
# YAML nodes with positions


@dataclass
class SourceFile:
    """A YAML file being read, and how its name is shown in diagnostics."""

    path: Path
    display: str

    def at(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(self.display, mark.line + 1, mark.column + 1)


def is_site_file(root: Path | str, relative: str) -> bool:
    """Whether the site has a file at ``relative``; False too for a path no file can have
    (too long, a NUL)."""
    try:
        return (Path(root) / relative).is_file()
    except (OSError, ValueError):
        return False


def display_path(path: Path) -> str:
    """The path as the user will recognise it: relative to the working directory if inside it."""
    folder = _display_folder(str(path.parent), os.getcwd())
    return path.name if folder == "." else f"{folder}/{path.name}"


@lru_cache(maxsize=1024)
def _display_folder(folder: str, cwd: str) -> str:
    # relpath is slow and a site has thousands of zone files in a few folders.
    try:
        relative = os.path.relpath(folder, cwd)
    except ValueError:  # pragma: no cover - another drive on Windows
        return folder
    return folder if relative.startswith("..") else relative


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == "tag:yaml.org,2002:null":
        return "empty"
    return f"'{node.value}'"


class Loader:
    """Reads one site; collects diagnostics instead of stopping at the first."""

    def __init__(self, root: Path, cache: ZoneCache | None = None):
        self.root = root
        self.diagnostics: list[Diagnostic] = []
        self.cache = cache if cache is not None else ZoneCache(None)
        self.real_root = real_root(root)  # no file outside it is read
        #: files of the site folder whose existence zonesmith.yaml's meaning
        #: depends on, and whether they existed (see Declarations.probes)
        self.probes: dict[str, bool] = {}

    # -- reporting -------------------------------------------------------

    def error(self, position: Position, rule: str, message: str) -> None:
        self.diagnostics.append(error(position, rule, message))

    def warning(self, position: Position, rule: str, message: str) -> None:
        self.diagnostics.append(warning(position, rule, message))

    # -- YAML helpers ------------------------------------------------------

    def compose(
        self, path: Path, display: str | None = None, data: bytes | None = None
    ) -> tuple[SourceFile, yaml.Node | None]:
        """A YAML file's node tree (None: not read, or not YAML; reported). ``data`` is its
        content once read within the bounds; else it is read here, as zonesmith.yaml."""
        source = SourceFile(path, display_path(path) if display is None else display)
        if data is None:
            data = self.read(path, source.display, MAX_SITE_FILE_BYTES, f"a {SITE_FILE}")
            if data is None:
                return source, None
        try:
            return source, yaml.compose(data, Loader=_yaml_loader())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            position = (
                Position(source.display, mark.line + 1, mark.column + 1)
                if mark
                else Position(source.display)
            )
            problem = exc.problem or exc.context or "malformed YAML"
            self.error(position, "yaml-syntax", f"malformed YAML: {problem}")
        except yaml.YAMLError as exc:
            self.error(Position(source.display, 1, 1), "yaml-syntax", f"malformed YAML: {exc}")
        except UnicodeDecodeError as exc:
            self.error(Position(source.display), "yaml-syntax", f"not UTF-8 text: {exc}")
        return source, None

    def read(
        self, path: Path, display: str, limit: int, what: str, data: bytes | None = None
    ) -> bytes | None:
        """A YAML file of the site (``what``, for the size limit's message), read within
        the bounds of zonesmith.sitefiles; None: refused, and reported. ``data`` is its
        content, if already read: it is then only checked."""
        try:
            content = read_bounded(
                path,
                limit,
                root=self.real_root,
                data=data,
                too_big=f"it is larger than {size_text(limit)}, the most {what} may hold",
            )
        except ReadRefused as refused:
            self.error(
                Position(display),
                refused.rule or "unreadable-file",
                f"cannot read: {refused.reason}",
            )
            return None
        for line in content.long_lines:
            self.error(
                Position(display, line, 1),
                "line-too-long",
                f"line longer than {size_text(MAX_LINE_BYTES)}: no value is that long "
                "(a record holds at most 65535 octets); the line is skipped",
            )
        return content.data

    def mapping(
        self,
        source: SourceFile,
        node: yaml.Node | None,
        allowed: tuple[str, ...] | None,
        where: str,
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The entries of a mapping node, reporting unknown and repeated keys.

        ``allowed`` None accepts any key (the key is then a user's name, such
        as a zone or view name). Returns key text -> (key node, value node).
        """
        if node is None or node.tag == "tag:yaml.org,2002:null":
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.error(
                source.at(node), "bad-value", f"{where} must be a mapping, not {_kind(node)}"
            )
            return {}
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(source.at(key_node), "bad-value", f"a key in {where} must be text")
                continue
            key = key_node.value
            if key in entries:
                first = source.at(entries[key][0])
                self.error(
                    source.at(key_node),
                    "duplicate-key",
                    f"'{key}' is given twice in {where} (first at line {first.line}); "
                    "merge the two entries",
                )
                continue
            if allowed is not None and key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else "expected one of " + ", ".join(allowed)
                )
                self.error(
                    source.at(key_node), "unknown-key", f"unknown key '{key}' in {where}; {hint}"
                )
                continue
            entries[key] = (key_node, value_node)
        return entries

    def scalar(self, source: SourceFile, node: yaml.Node, what: str) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            return str(node.value)
        self.error(
            source.at(node), "bad-value", f"{what} must be a single value, not {_kind(node)}"
        )
        return None

    def scalars(self, source: SourceFile, node: yaml.Node, what: str) -> list[tuple[str, Position]]:
        """A list of scalars; a single scalar counts as a list of one."""
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            return [(str(node.value), source.at(node))]
        if isinstance(node, yaml.SequenceNode):
            values = []
            for item in node.value:
                text = self.scalar(source, item, f"each entry of {what}")
                if text is not None:
                    values.append((text, source.at(item)))
            return values
        self.error(source.at(node), "bad-value", f"{what} must be a list, not {_kind(node)}")
        return []

    def references(self, source: SourceFile, node: yaml.Node, what: str) -> tuple[Reference, ...]:
        return tuple(Reference(text, pos) for text, pos in self.scalars(source, node, what))

    def duration(
        self, source: SourceFile, node: yaml.Node, what: str, *, ttl: bool = False
    ) -> int | None:
        text = self.scalar(source, node, what)
        if text is None:
            return None
        try:
            return parse_ttl(text) if ttl else parse_duration(text)
        except ValueError as exc:
            self.error(source.at(node), "bad-ttl" if ttl else "bad-duration", f"{what}: {exc}")
            return None

    def boolean(self, source: SourceFile, node: yaml.Node, what: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
            return node.value.lower() in ("true", "yes", "on")
        self.error(source.at(node), "bad-value", f"{what} must be true or false, not {_kind(node)}")
        return None

    def absolute_name(self, source: SourceFile, node: yaml.Node, what: str) -> dns.name.Name | None:
        text = self.scalar(source, node, what)
        if text is None:
            return None
        try:
            return dns.name.from_text(text)
        except dns.exception.DNSException as exc:
            self.error(source.at(node), "bad-name", f"{what}: {describe_name_error(text, exc)}")
            return None

    def identifier(self, source: SourceFile, key_node: yaml.Node, kind: str, name: str) -> bool:
        """Whether ``name`` may name a ``kind`` (see identifier_problem), reporting why not."""
        problem = identifier_problem(name)
        if problem is not None:
            self.error(source.at(key_node), "bad-identifier", f"{kind} name {problem}")
        return problem is None

    def config_name(self, position: Position, what: str, text: str) -> bool:
        """Whether a name can go into a server's configuration, reporting why not."""
        problem = config_name_problem(text)
        if problem is not None:
            self.error(position, "bad-name", f"{what}: {problem}")
        return problem is None

    def site_file_exists(self, name: str) -> bool:
        """Whether the site folder has a file ``name`` (kept with the declarations)."""
        exists = self.probes[name] = is_site_file(self.root, name)
        return exists

    # -- the site file ---------------------------------------------------------

    def load(self) -> Site:
        site_path = self.root / SITE_FILE
        if not site_path.is_file():
            self.error(
                Position(display_path(site_path)),
                "no-site",
                f"no {SITE_FILE} here; a site is a folder with {SITE_FILE} (see the README)",
            )
            return Site(root=str(self.root), defaults=Defaults(3600, None, Position("")))
        key = self.cache.declarations_key(site_path, self.root / ZONES_DIR)
        declarations = self.cache.declarations(key)
        if declarations is not None and any(
            (self.root / name).is_file() != existed for name, existed in declarations.probes.items()
        ):
            declarations = None
        if declarations is None:
            reported = len(self.diagnostics)
            declarations = self.load_declarations(site_path)
            declarations.diagnostics.extend(self.diagnostics[reported:])
            self.cache.keep_declarations(key, declarations)
        else:
            self.diagnostics.extend(declarations.diagnostics)
        zones = tuple(
            self.read_zone(arguments, source, declarations.sets)
            for arguments, source in declarations.zones
        )
        return dataclasses.replace(declarations.site, zones=zones)

    def load_declarations(self, site_path: Path) -> Declarations:
        """What zonesmith.yaml declares: the site, and its zones without their records."""
        source, document = self.compose(site_path)
        top = self.mapping(
            source,
            document,
            ("defaults", "keys", "views", "servers", "sets", "zones", "blocklists"),
            SITE_FILE,
        )

        def section(name: str) -> yaml.Node | None:
            return top[name][1] if name in top else None

        defaults = self.load_defaults(source, section("defaults"), document)
        keys = self.load_keys(source, section("keys"))
        views = self.load_views(source, section("views"))
        implicit_view = not views
        if implicit_view:
            views = (View(DEFAULT_VIEW, ("any",), Position(source.display)),)
        servers = self.load_servers(source, section("servers"))
        set_specs = self.load_sets(source, section("sets"))
        zones = self.declare_zones(source, section("zones"), defaults, views, set_specs)
        blocklists = self.load_blocklists(source, section("blocklists"))
        site = Site(
            root=str(self.root),
            defaults=defaults,
            keys=keys,
            views=views,
            servers=servers,
            blocklists=blocklists,
            implicit_view=implicit_view,
            sets=tuple(set_specs),
        )
        return Declarations(site, zones, set_specs, probes=self.probes)

    def load_defaults(
        self, source: SourceFile, node: yaml.Node | None, document: yaml.Node | None
    ) -> Defaults:
        where = source.at(node) if node is not None else Position(source.display, 1, 1)
        entries = self.mapping(source, node, ("ttl", "soa"), "defaults")
        ttl = 3600
        if "ttl" in entries:
            ttl = self.duration(source, entries["ttl"][1], "defaults ttl", ttl=True) or ttl
        soa = None
        if "soa" in entries:
            soa = self.load_soa(source, entries["soa"][1], None, "defaults soa")
        return Defaults(ttl, soa, where)

    def load_soa(
        self, source: SourceFile, node: yaml.Node, base: Soa | None, where: str
    ) -> Soa | None:
        fields = ("primary", "contact", "refresh", "retry", "expire", "negative-ttl")
        entries = self.mapping(source, node, fields, where)
        values: dict[str, object] = {}
        if base is not None:
            values = {
                "primary": base.primary,
                "contact": base.contact,
                "refresh": base.refresh,
                "retry": base.retry,
                "expire": base.expire,
                "negative-ttl": base.negative_ttl,
            }
        else:
            values = {"refresh": 10800, "retry": 3600, "expire": 1209600, "negative-ttl": 3600}
        ok = True
        for field_name, (_, value_node) in entries.items():
            if field_name == "primary":
                name = self.absolute_name(source, value_node, f"{where} primary")
                ok &= name is not None
                values["primary"] = name
            elif field_name == "contact":
                text = self.scalar(source, value_node, f"{where} contact")
                if text is not None and not _CONTACT.fullmatch(text):
                    ok = False
                    values["contact"] = None
                    self.error(
                        source.at(value_node),
                        "bad-name",
                        f"{where} contact: {shown(text)} is not an e-mail address of letters, "
                        "digits, '-', '_', '+' and '.', such as hostmaster@example.com",
                    )
                    continue
                try:
                    values["contact"] = rname_from_contact(text or "")
                except dns.exception.DNSException as exc:
                    ok = False
                    self.error(
                        source.at(value_node),
                        "bad-name",
                        f"{where} contact: {describe_name_error(text or '', exc)}; "
                        "write an e-mail address such as hostmaster@example.com",
                    )
            else:
                # A bad timer is reported and left at its default, so that the
                # zones using this SOA are still checked.
                seconds = self.duration(source, value_node, f"{where} {field_name}", ttl=True)
                if seconds is not None:
                    values[field_name] = seconds
        for required in ("primary", "contact"):
            if required not in values:
                ok = False
                self.error(
                    source.at(node),
                    "missing-key",
                    f"{where} needs '{required}' (for example primary: ns1.example.com., "
                    "contact: hostmaster@example.com)",
                )
        if not ok:
            return None
        return Soa(
            primary=values["primary"],  # type: ignore[arg-type]
            contact=values["contact"],  # type: ignore[arg-type]
            refresh=values["refresh"],  # type: ignore[arg-type]
            retry=values["retry"],  # type: ignore[arg-type]
            expire=values["expire"],  # type: ignore[arg-type]
            negative_ttl=values["negative-ttl"],  # type: ignore[arg-type]
        )

    def load_keys(self, source: SourceFile, node: yaml.Node | None) -> tuple[TsigKey, ...]:
        keys = []
        for name, (key_node, value_node) in self.mapping(source, node, None, "keys").items():
            where = f"key '{name}'"
            if not self.identifier(source, key_node, "a key", name):
                continue
            try:
                dns.name.from_text(name)
            except dns.exception.DNSException as exc:
                self.error(
                    source.at(key_node), "bad-name", f"{where}: {describe_name_error(name, exc)}"
                )
                continue
            if isinstance(value_node, yaml.MappingNode):
                for secret_key, secret_value in value_node.value:
                    if secret_key.value == "secret":
                        # Say it without echoing the value: it is a secret.
                        self.error(
                            source.at(secret_value),
                            "secret-in-site",
                            f"{where}: the secret must not be in {SITE_FILE}; put it in a "
                            f"git-ignored file and write secret-file: secrets/{name}.key "
                            "(or secret-env: VARIABLE)",
                        )
            entries = self.mapping(
                source, value_node, ("algorithm", "secret-file", "secret-env", "secret"), where
            )
            algorithm = "hmac-sha256"
            if "algorithm" in entries:
                algorithm = self.scalar(source, entries["algorithm"][1], f"{where} algorithm") or ""
                if algorithm.lower() not in TSIG_ALGORITHMS:
                    self.error(
                        source.at(entries["algorithm"][1]),
                        "bad-value",
                        f"{where}: unknown TSIG algorithm '{algorithm}'; expected one of "
                        + ", ".join(TSIG_ALGORITHMS),
                    )
                    continue
                algorithm = algorithm.lower()
            secret_file = secret_env = None
            if "secret-file" in entries:
                secret_file = self.scalar(source, entries["secret-file"][1], f"{where} secret-file")
            if "secret-env" in entries:
                secret_env = self.scalar(source, entries["secret-env"][1], f"{where} secret-env")
            if (secret_file is None) == (secret_env is None):
                if "secret" not in entries:
                    self.error(
                        source.at(value_node),
                        "missing-key",
                        f"{where} needs exactly one of secret-file or secret-env",
                    )
                continue
            keys.append(TsigKey(name, algorithm, secret_file, secret_env, source.at(key_node)))
        return tuple(keys)

    def load_views(self, source: SourceFile, node: yaml.Node | None) -> tuple[View, ...]:
        views = []
        for name, (key_node, value_node) in self.mapping(source, node, None, "views").items():
            where = f"view '{name}'"
            if not self.identifier(source, key_node, "a view", name):
                continue
            entries = self.mapping(source, value_node, ("clients", "key"), where)
            if "clients" not in entries:
                self.error(
                    source.at(key_node),
                    "missing-key",
                    f"{where} needs clients, e.g. clients: [10.0.0.0/8] or clients: [any]",
                )
                continue
            clients = []
            for text, position in self.scalars(source, entries["clients"][1], f"{where} clients"):
                problem = check_address_match_element(text)
                if problem:
                    self.error(position, "bad-address", f"{where}: {problem}")
                else:
                    clients.append(text)
            key = None
            if "key" in entries:
                key_text = self.scalar(source, entries["key"][1], f"{where} key")
                if key_text is not None:
                    key = Reference(key_text, source.at(entries["key"][1]))
            views.append(View(name, tuple(clients), source.at(key_node), key))
        return tuple(views)

    def load_servers(self, source: SourceFile, node: yaml.Node | None) -> tuple[Server, ...]:
        servers = []
        fields = (
            "software",
            "role",
            "address",
            "port",
            "path",
            "hidden",
            "catalog",
            "primaries",
            "key",
            "blocklists",
            "views",
        )
        for name, (key_node, value_node) in self.mapping(source, node, None, "servers").items():
            where = f"server '{name}'"
            if not self.identifier(source, key_node, "a server", name):
                continue
            entries = self.mapping(source, value_node, fields, where)
            ok = True
            values: dict[str, object] = {}
            for required in ("software", "role", "address"):
                if required not in entries:
                    ok = False
                    self.error(source.at(key_node), "missing-key", f"{where} needs '{required}'")
            for field_name, choices in (("software", SOFTWARES), ("role", ROLES)):
                if field_name in entries:
                    value = self.scalar(source, entries[field_name][1], f"{where} {field_name}")
                    if value not in choices:
                        ok = False
                        if value is not None:
                            self.error(
                                source.at(entries[field_name][1]),
                                "bad-value",
                                f"{where}: unknown {field_name} '{value}'; expected one of "
                                + ", ".join(choices),
                            )
                    values[field_name] = value
            if "address" in entries:
                address = self.scalar(source, entries["address"][1], f"{where} address")
                try:
                    values["address"] = str(ipaddress.ip_address(address or ""))
                except ValueError:
                    ok = False
                    self.error(
                        source.at(entries["address"][1]),
                        "bad-address",
                        f"{where}: '{address}' is not an IPv4 or IPv6 address",
                    )
            port = 53
            if "port" in entries:
                text = self.scalar(source, entries["port"][1], f"{where} port") or ""
                if not text.isdigit() or not 1 <= int(text) <= 65535:
                    ok = False
                    self.error(
                        source.at(entries["port"][1]),
                        "bad-value",
                        f"{where}: port '{text}' must be a number from 1 to 65535",
                    )
                else:
                    port = int(text)
            software = str(values.get("software", ""))
            path = f"/etc/{software}/zonesmith"
            if "path" in entries:
                path = self.scalar(source, entries["path"][1], f"{where} path") or path
                if not _SERVER_PATH.fullmatch(path):
                    ok = False
                    self.error(
                        source.at(entries["path"][1]),
                        "bad-value",
                        f"{where}: path {shown(path)} must be absolute "
                        "(where the files live on the server), of letters, digits and "
                        "'/', '.', '-', '_', '+', '@', ',', '=', ':' only",
                    )
            hidden = False
            if "hidden" in entries:
                hidden = bool(self.boolean(source, entries["hidden"][1], f"{where} hidden"))
            catalog = None
            if "catalog" in entries:
                catalog_name = self.absolute_name(source, entries["catalog"][1], f"{where} catalog")
                if catalog_name is not None and self.config_name(
                    source.at(entries["catalog"][1]), f"{where} catalog", catalog_name.to_text()
                ):
                    catalog = entries["catalog"][1].value
            key = None
            if "key" in entries:
                key_text = self.scalar(source, entries["key"][1], f"{where} key")
                if key_text is not None:
                    key = Reference(key_text, source.at(entries["key"][1]))

            refs = {
                field_name: self.references(source, entries[field_name][1], f"{where} {field_name}")
                for field_name in ("primaries", "blocklists", "views")
                if field_name in entries
            }

            if not ok:
                continue
            servers.append(
                Server(
                    name=name,
                    software=software,
                    role=str(values["role"]),
                    address=str(values["address"]),
                    port=port,
                    path=path,
                    position=source.at(key_node),
                    hidden=hidden,
                    catalog=catalog,
                    primaries=refs.get("primaries", ()),
                    key=key,
                    blocklists=refs.get("blocklists", ()),
                    views=refs.get("views"),
                )
            )
        return tuple(servers)

    def load_blocklists(self, source: SourceFile, node: yaml.Node | None) -> tuple[Blocklist, ...]:
        from zonesmith.blocklists import normalize_name

        blocklists = []
        for name, (key_node, value_node) in self.mapping(source, node, None, "blocklists").items():
            where = f"blocklist '{name}'"
            if not self.identifier(source, key_node, "a blocklist", name):
                continue
            entries = self.mapping(
                source, value_node, ("sources", "allow", "action", "rpz", "deadline"), where
            )
            sources = (
                self.scalars(source, entries["sources"][1], f"{where} sources")
                if "sources" in entries
                else []
            )
            allow_files: list[tuple[str, Position]] = []
            allow_names: list[str] = []
            if "allow" in entries:
                for text, position in self.scalars(source, entries["allow"][1], f"{where} allow"):
                    # A file is written with its folder (lists/allow.txt) or exists in the
                    # site; anything else is a name to allow.
                    if "/" in text or self.site_file_exists(text):
                        allow_files.append((text, position))
                    elif (normalized := normalize_name(text.lower())) is not None:
                        allow_names.append(normalized)
                        if normalized.rpartition(".")[2] in ("txt", "list", "conf", "hosts"):
                            self.warning(
                                position,
                                "allow-name-like-file",
                                f"{where} allow: '{text}' is taken as a name to allow; "
                                "if it is a file, write it with its folder (lists/allow.txt)",
                            )
                    else:
                        self.error(
                            position,
                            "bad-name",
                            f"{where} allow: '{text}' is neither a file of the site (write "
                            "files with their folder, e.g. lists/allow.txt) nor a domain name",
                        )
            action, sinkhole, sinkhole_position = "nxdomain", None, None
            if "action" in entries:
                action_node = entries["action"][1]
                if isinstance(action_node, yaml.MappingNode):
                    sink = self.mapping(source, action_node, ("sinkhole",), f"{where} action")
                    if "sinkhole" in sink:
                        action = "sinkhole"
                        sinkhole = self.scalar(source, sink["sinkhole"][1], f"{where} sinkhole")
                        sinkhole_position = source.at(sink["sinkhole"][1])
                elif action_node.tag == "tag:yaml.org,2002:null" and action_node.value:
                    action = "null"  # `action: null` is YAML's null, and what the user means
                else:
                    action = self.scalar(source, action_node, f"{where} action") or action
                    if action not in ("nxdomain", "null"):
                        self.error(
                            source.at(action_node),
                            "bad-value",
                            f"{where}: unknown action '{action}'; expected nxdomain, null "
                            "or {sinkhole: ADDRESS}",
                        )
            rpz = False
            if "rpz" in entries:
                rpz = bool(self.boolean(source, entries["rpz"][1], f"{where} rpz"))
            deadline = None
            if "deadline" in entries:
                deadline_node = entries["deadline"][1]
                deadline = self.duration(source, deadline_node, f"{where} deadline")
                if deadline == 0:
                    self.error(
                        source.at(deadline_node),
                        "bad-duration",
                        f"{where} deadline: must be longer than 0 seconds",
                    )
            blocklists.append(
                Blocklist(
                    name,
                    tuple(text for text, _ in sources),
                    tuple(text for text, _ in allow_files),
                    action,
                    sinkhole,
                    source.at(key_node),
                    allow_names=tuple(allow_names),
                    rpz=rpz,
                    source_positions=tuple(position for _, position in sources),
                    allow_positions=tuple(position for _, position in allow_files),
                    sinkhole_position=sinkhole_position,
                    deadline=deadline or None,
                )
            )
        return tuple(blocklists)

    # -- record sets and zones ------------------------------------------------

    def load_sets(self, source: SourceFile, node: yaml.Node | None) -> dict[str, list[RecordSpec]]:
        sets = {}
        for name, (_key_node, value_node) in self.mapping(source, node, None, "sets").items():
            sets[name] = list(self.record_specs(source, value_node, f"set '{name}'"))
        return sets

    def record_specs(
        self, source: SourceFile, node: yaml.Node | None, where: str
    ) -> Iterator[RecordSpec]:
        """The records of a zone file or a set, still as text: owner -> records."""
        for owner, (owner_node, value_node) in self.mapping(source, node, None, where).items():
            mark = owner_node.start_mark
            yield from self.owner_specs(
                source, owner, mark.line + 1, mark.column + 1, value_node, None, None, where
            )

    def owner_specs(
        self,
        source: SourceFile,
        owner: str,
        owner_line: int,
        owner_column: int,
        node: yaml.Node,
        ttl: int | None,
        view: str | None,
        where: str,
    ) -> Iterator[RecordSpec]:
        what = f"records of '{owner}' in {where}"
        display = source.display
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            mark = node.start_mark
            yield (
                owner,
                owner_line,
                owner_column,
                node.value,
                mark.line + 1,
                mark.column + _text_shift(node),
                ttl,
                view,
                display,
            )
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                if (
                    isinstance(item, yaml.MappingNode | yaml.SequenceNode)
                    and ttl is None
                    and view is None
                ):
                    if isinstance(item, yaml.SequenceNode):
                        self.error(
                            source.at(item),
                            "bad-value",
                            f"{what}: a list inside a list is not allowed",
                        )
                        continue
                    yield from self.owner_specs(
                        source, owner, owner_line, owner_column, item, None, None, where
                    )
                elif isinstance(item, yaml.ScalarNode) and item.tag != "tag:yaml.org,2002:null":
                    mark = item.start_mark
                    yield (
                        owner,
                        owner_line,
                        owner_column,
                        item.value,
                        mark.line + 1,
                        mark.column + _text_shift(item),
                        ttl,
                        view,
                        display,
                    )
                else:
                    self.error(
                        source.at(item),
                        "bad-value",
                        f"{what}: each entry must be a record such as 'A 192.0.2.1'",
                    )
        elif isinstance(node, yaml.MappingNode):
            entries = self.mapping(source, node, ("records", "ttl", "view"), what)
            if "records" not in entries:
                self.error(
                    source.at(node),
                    "missing-key",
                    f"{what}: a mapping needs 'records', "
                    "e.g. {view: internal, records: [A 10.0.0.1]}",
                )
                return
            inner_ttl = ttl
            if "ttl" in entries:
                inner_ttl = self.duration(source, entries["ttl"][1], f"{what} ttl", ttl=True)
                if inner_ttl is None:
                    return
            inner_view = view
            if "view" in entries:
                text = self.scalar(source, entries["view"][1], f"{what} view")
                if text is None:
                    return
                inner_view = text
            records_node = entries["records"][1]
            if isinstance(records_node, yaml.MappingNode):
                self.error(
                    source.at(records_node),
                    "bad-value",
                    f"{what}: records must be a record or a list of records",
                )
                return
            yield from self.owner_specs(
                source, owner, owner_line, owner_column, records_node, inner_ttl, inner_view, where
            )
        else:
            self.error(source.at(node), "bad-value", f"{what}: no records given")

    def declare_zones(
        self,
        source: SourceFile,
        node: yaml.Node | None,
        defaults: Defaults,
        views: tuple[View, ...],
        sets: dict[str, list[RecordSpec]],
    ) -> list[tuple[tuple, ZoneSource]]:
        """The zones zonesmith.yaml declares, without records (as Zone.arguments), and
        where their records come from."""
        zones = []
        all_views = tuple(view.name for view in views)
        zones_dir = self.root / ZONES_DIR
        listing = _list_folder(zones_dir)
        if listing is not None:
            names, files, folded = listing

            def is_file(name: str) -> bool:
                # A file listed as named, or perhaps under another case if the file
                # system ignores case: only then is it worth asking the system.
                return name in files or (name in folded and (zones_dir / name).is_file())

        else:
            names = None

            def is_file(name: str) -> bool:
                return (zones_dir / name).is_file()

        declared: set[str] = set()
        set_digests: dict[str, str] = {}
        for name, (key_node, value_node) in self.mapping(source, node, None, "zones").items():
            where = f"zone '{name}'"
            try:
                origin, origin_text = _zone_name(name)
            except dns.exception.DNSException as exc:
                self.error(
                    source.at(key_node), "bad-name", f"{where}: {describe_name_error(name, exc)}"
                )
                continue
            if not self.config_name(source.at(key_node), f"zone {shown(name)}", origin_text):
                continue
            file_stem = (
                origin_text[:-1] if origin_text != "." else origin.to_text(omit_final_dot=True)
            ).lower()
            declared.add(file_stem)
            entries = self.mapping(
                source,
                value_node,
                ("include", "views", "reverse-of", "ttl", "soa", "servers"),
                where,
            )
            zone_servers = (
                self.references(source, entries["servers"][1], f"{where} servers")
                if "servers" in entries
                else None
            )
            includes = (
                self.references(source, entries["include"][1], f"{where} include")
                if "include" in entries
                else ()
            )
            reverse_of = (
                self.references(source, entries["reverse-of"][1], f"{where} reverse-of")
                if "reverse-of" in entries
                else ()
            )
            view_refs = (
                self.references(source, entries["views"][1], f"{where} views")
                if "views" in entries
                else ()
            )
            zone_views = (
                # `views: []` is a zone in no view (reported), never one in every view
                tuple(r.name for r in view_refs if r.name in all_views)
                if "views" in entries
                else all_views
            )
            ttl = defaults.ttl
            zone_ttl = None
            if "ttl" in entries:
                zone_ttl = self.duration(source, entries["ttl"][1], f"{where} ttl", ttl=True)
                ttl = zone_ttl if zone_ttl is not None else ttl
            soa = None
            if "soa" in entries:
                soa = self.load_soa(source, entries["soa"][1], defaults.soa, f"{where} soa")

            yaml_name = f"{file_stem}.yaml"
            master_name = f"{file_stem}.zone"
            yaml_file = is_file(yaml_name)
            master_file = is_file(master_name)
            if yaml_file and master_file:
                yaml_shown, master_shown = (
                    display_path(zones_dir / yaml_name),
                    display_path(zones_dir / master_name),
                )
                self.error(
                    Position(master_shown, 1, 1),
                    "duplicate-zone-source",
                    f"{where} is given both as {yaml_shown} and as {master_shown}; "
                    "keep one of them",
                )
                yaml_file = master_file = False
            path = (
                zones_dir / (yaml_name if yaml_file else master_name)
                if yaml_file or master_file
                else None
            )
            zone = Zone(
                name=origin,
                views=zone_views,
                records=(),
                position=source.at(key_node),
                source_path=display_path(path) if path is not None else None,
                includes=includes,
                reverse_of=reverse_of,
                view_refs=view_refs,
                ttl=zone_ttl,
                soa=soa,
                servers=zone_servers,
                origin=origin_text,
            )
            context = _records_context(zone, ttl, sets, set_digests)
            source_of_records = ZoneSource(str(path) if path else None, master_file, ttl, context)
            zones.append((zone.arguments(), source_of_records))
        if names is not None:
            # As Path.suffix and Path.stem read them, without a Path for each file.
            paths = (
                zones_dir / name
                for name in sorted(names)
                if name.endswith((".yaml", ".zone"))
                and len(name) > 5
                and name[:-5].lower() not in declared
            )
        else:
            paths = sorted(zones_dir.iterdir()) if zones_dir.is_dir() else []
        for path in paths:
            if path.suffix in (".yaml", ".zone") and path.stem.lower() not in declared:
                self.warning(
                    Position(display_path(path), 1, 1),
                    "undeclared-zone-file",
                    f"zone file for '{path.stem}' is not used: add '{path.stem}: {{}}' "
                    f"under zones in {SITE_FILE}",
                )
        return zones

    def read_zone(
        self, arguments: tuple, source: ZoneSource, sets: dict[str, list[RecordSpec]]
    ) -> Zone:
        """A declared zone (its Zone.arguments) with its records: from its file and the
        sets it includes."""
        fingerprint, data = self.zone_fingerprint(source)
        cached = self.cache.records(fingerprint)
        if cached is not None:
            records, diagnostics = cached
            self.diagnostics.extend(diagnostics)
            return Zone.from_arguments(arguments, records, fingerprint)
        zone = Zone.from_arguments(arguments, (), None)
        origin_text = zone.origin
        reported = len(self.diagnostics)
        found: list[Record] = []
        if source.path is not None:
            path = Path(source.path)
            if source.master:
                found.extend(self.load_master(path, zone.name, source.ttl, data))
            else:
                where = f"zone {path.name[:-5]}"
                specs = self.zone_specs(path, zone.source_path or "", where, data)
                found.extend(self.materialize(specs, origin_text, source.ttl, "zone"))
        for include in zone.includes:
            if include.name in sets:
                label = f"set {include.name}"
                found.extend(self.materialize(sets[include.name], origin_text, source.ttl, label))
        records = tuple(found)
        self.cache.keep_records(fingerprint, records, self.diagnostics[reported:], origin_text)
        return zone.with_records(records, fingerprint)

    def zone_fingerprint(self, source: ZoneSource) -> tuple[str | None, bytes | None]:
        """The zone's key in the cache: what its records are made from (None: not
        cached), and its file's content if that was read to find it out.

        A master file with $INCLUDE depends on files its digest does not
        cover, so it is always read.
        """
        content = ""
        if source.path is not None:
            found = self.cache.content_digest(source.path)
            if found is None:
                return None, None
            digest, includes, data = found
            if includes:
                return None, data
            content = digest
        else:
            data = None
        return self.cache.fingerprint(source.context, content), data

    def load_master(
        self, path: Path, origin: dns.name.Name, ttl: int, data: bytes | None = None
    ) -> list[Record]:
        """A master file's records (``data``: its content, if already read)."""
        from zonesmith.masterfile import read_masterfile

        records, diagnostics = read_masterfile(
            path, origin, ttl, display_path=display_path(path), data=data, root=self.real_root
        )
        self.diagnostics.extend(diagnostics)
        apex = origin.to_text().lower()
        soa = dns.rdatatype.SOA
        replaced = [r for r in records if r[2] == soa and r[0].lower() == apex]
        for record in replaced:
            self.warning(
                record.position,
                "soa-replaced",
                "the SOA of this file is replaced by the one the site supplies "
                "(defaults soa in zonesmith.yaml); remove it from the file",
            )
        # dnspython's text escapes every unsafe octet but these: a cheap first look.
        unsafe = [
            (r, problem)
            for r in records
            if ("\\" in r[0] or "'" in r[0] or "{" in r[0] or "}" in r[0])
            and (problem := unsafe_owner(r[0])) is not None
        ]
        for record, problem in unsafe:
            self.error(record.position, "bad-name", f"owner {shown(record[0])}: {problem}")
        if replaced or unsafe:
            dropped = {id(r) for r in replaced} | {id(r) for r, _ in unsafe}
            records = [r for r in records if id(r) not in dropped]
        return records

    def zone_specs(
        self, path: Path, display: str, where: str, data: bytes | None = None
    ) -> Iterator[RecordSpec]:
        """The records of a zone's YAML file, still as text.

        A flat file (owner: record, owner: [records], owner: then a list of
        records) is read line by line; any other file, and any line the fast
        reader is not sure of, goes to PyYAML, which reports what is wrong.
        ``data`` is the file's content, if already read.
        """
        data = self.read(path, display, MAX_ZONE_BYTES, "a zone file", data)
        if data is None:
            return iter(())
        flat = read_flat_zone(data, display)
        if flat is not None:
            specs, duplicates = flat
            for key, line, column, first_line in duplicates:
                self.error(
                    Position(display, line, column),
                    "duplicate-key",
                    f"'{key}' is given twice in {where} (first at line {first_line}); "
                    "merge the two entries",
                )
            return iter(specs)
        source, document = self.compose(path, display, data)
        return self.record_specs(source, document, where)

    def materialize(
        self,
        specs: Iterable[RecordSpec],
        origin_text: str,
        default_ttl: int,
        source_label: str,
    ) -> Iterator[Record]:
        """Records from their text form, each parsed relative to ``origin_text``.

        Plain records (a simple owner, ``[TTL] TYPE RDATA`` of a type the fast
        checks in :mod:`zonesmith.rdata` accept) are made here directly; any
        other goes through :meth:`record`, which reports what is wrong.
        """
        fast_types = _FAST_TYPE_CODES
        fast = rdtext.fast
        absolute_name = rdtext.absolute_name
        is_subdomain = rdtext.is_subdomain
        last_owner = None
        owner = None
        for spec in specs:
            owner_text, _, _, text, line, column, spec_ttl, view, path = spec
            if owner_text is not last_owner:
                last_owner = owner_text
                owner = absolute_name(owner_text, origin_text)
                if (
                    owner is not None
                    and owner_text[-1] == "."
                    and not is_subdomain(owner, origin_text)
                ):
                    owner = None
            if owner is not None:
                # The forms TYPE RDATA and TTL TYPE RDATA, as parse_record_text reads them.
                head, _, rest = text.partition(" ")
                rdtype = fast_types.get(head)
                ttl = None
                if rdtype is None and head.isdigit() and head.isascii():
                    ttl = int(head)
                    if ttl <= MAX_TTL:
                        head, _, rest = rest.partition(" ")
                        rdtype = fast_types.get(head)
                if rdtype is not None:
                    data = fast(rdtype, rest.strip(), origin_text)
                    if data is not None:
                        if ttl is None:
                            ttl = spec_ttl if spec_ttl is not None else default_ttl
                        yield Record(
                            (owner, ttl, rdtype, data, view, path, line, column, source_label, None)
                        )
                        continue
            record = self.record(spec, origin_text, default_ttl, source_label)
            if record is not None:
                yield record

    def record(
        self, spec: RecordSpec, origin: str, default_ttl: int, source_label: str
    ) -> Record | None:
        """One record from its text form, or None after reporting what is wrong."""
        owner_text, owner_line, owner_column, text, line, column, spec_ttl, view, path = spec
        owner = self.owner_name(owner_text, Position(path, owner_line, owner_column), origin)
        if owner is None:
            return None
        position = Position(path, line, column)
        parsed = parse_record_text(text, position, origin, self.diagnostics.append)
        if parsed is None:
            return None
        ttl, rdtype, data, rdata = parsed
        if ttl is None:
            ttl = spec_ttl if spec_ttl is not None else default_ttl
        if rdtype == dns.rdatatype.SOA:
            self.warning(
                position,
                "soa-replaced",
                "an SOA given as a record is replaced by the one the site supplies; "
                "set SOA fields under defaults soa or the zone's soa in zonesmith.yaml",
            )
            return None
        return Record((owner, ttl, rdtype, data, view, path, line, column, source_label, rdata))

    def owner_name(self, text: str, position: Position, origin: str) -> str | None:
        """The absolute owner name of a record, or None after reporting why not."""
        try:
            owner = rdtext.name_text(text, origin)
        except dns.exception.DNSException as exc:
            self.error(position, "bad-name", describe_name_error(text, exc))
            return None
        problem = unsafe_owner(owner)
        if problem is not None:
            self.error(position, "bad-name", f"owner {shown(text)}: {problem}")
            return None
        if not rdtext.is_subdomain(owner, origin):
            self.error(
                position,
                "out-of-zone",
                f"'{text}' is outside zone '{origin}'; names ending in a dot are absolute, "
                "write it relative to the zone or move it to its own zone",
            )
            return None
        return owner


#: A record as written in YAML, before it is parsed against a zone's origin:
#: (owner, owner line, owner column, text, line, column, ttl or None, view or None,
#: file as shown). Line and column are where the record's text starts.
RecordSpec = tuple[str, int, int, str, int, int, int | None, str | None, str]

_FAST_TYPE_CODES = {dns.rdatatype.to_text(t): t for t in rdtext.FAST_TYPES} | {
    dns.rdatatype.to_text(t).lower(): t for t in rdtext.FAST_TYPES
}


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
    """What zonesmith.yaml declares (see Loader.load_declarations).

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


def _records_context(
    zone: Zone, ttl: int, sets: dict[str, list[RecordSpec]], set_digests: dict[str, str]
) -> str:
    """Besides its file's content, what a zone's records are made from, as a digest.

    Its file's path (positions name it), its name, its default TTL and the
    records of the sets it includes, in order; worked out once, when
    zonesmith.yaml is read, so a rebuild only adds the file's digest.
    """
    used_sets = []
    for include in zone.includes:
        specs = sets.get(include.name)
        if specs is not None and include.name not in set_digests:
            set_digests[include.name] = hashlib.blake2b(repr(specs).encode()).hexdigest()
        used_sets.append((include.name, set_digests.get(include.name)))
    # A digest: the declarations keep one per zone, and are read at every run.
    context = repr((zone.source_path, zone.origin, ttl, used_sets))
    return hashlib.blake2b(context.encode(), digest_size=16).hexdigest()


#: A zone name dnspython would write back exactly as given (no escapes).
_PLAIN_ZONE_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?")


def _zone_name(text: str) -> tuple[dns.name.Name, str]:
    """A zone's name and its absolute text; raises dns.exception.DNSException.

    dnspython reads a name character by character; ten thousand plain zone
    names are split on dots instead.
    """
    if _PLAIN_ZONE_NAME.fullmatch(text):
        absolute = text if text[-1] == "." else f"{text}."
        labels = [label.encode() for label in absolute.split(".")]
        return dns.name.Name(labels), absolute  # checks label and name length
    name = dns.name.from_text(text)
    return name, name.to_text()


def _list_folder(folder: Path) -> tuple[list[str], set[str], set[str]] | None:
    """The names in ``folder``, those of its files, and those in lower case; None if unreadable."""
    try:
        with os.scandir(folder) as entries:
            names = []
            files = set()
            for entry in entries:
                names.append(entry.name)
                if entry.is_file():
                    files.add(entry.name)
    except OSError:
        return None
    return names, files, {name.lower() for name in files}


def _text_shift(node: yaml.ScalarNode) -> int:
    """From a scalar's 0-based start column to the 1-based column where its text starts."""
    # A quoted scalar's text starts one column after the quote.
    return 2 if node.style in ("'", '"') else 1


# --------------------------------------------------------------------------
# Flat zone files without PyYAML


# Anything but printable ASCII and line feeds (tabs, CR, control characters, DEL,
# UTF-8) makes YAML's rules subtle enough to leave the file to PyYAML.
_FLAT_CHARACTERS = b"\n" + bytes(range(0x20, 0x7F))
# The common line, `key: value` with a plain key (shorter than YAML's limit for
# implicit keys), one space and a one-line value (quoted without escapes, or plain
# with single spaces, no ': ' or ' #', not null), split into key and value; any
# other line is the last group, whole.
_FLAT_LINE = re.compile(
    r"^([A-Za-z0-9_][^ :#,\[\]{}'\"\n]{0,998}): ('[^'\n]*'|\"[^\"\\\n]*\""
    r"|(?!(?:~|null|Null|NULL)$)[^-?:,\[\]{}#&*!|>'\"%@` \n](?:[^#: \n]|:(?! |$)| (?![ #]|$))*)$"
    r"|^(.*)$",
    re.MULTILINE,
)
# A plain key: a conservative subset of what YAML reads as one (no spaces, no
# indicators); anything else, quoted keys aside, goes to PyYAML.
_FLAT_KEY = re.compile(r"[A-Za-z0-9_][^ :#,\[\]{}'\"]*")
# Characters that may not start a plain scalar (or start something else).
_FLAT_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# A plain scalar inside [ ]: it ends at ',' or ']'; '#', '?' and ':' before a space
# or an indicator make it subtle (and libyaml and PyYAML differ on some of them).
_FLAT_FLOW_PLAIN = re.compile(r"(?:[^,\[\]{}#:?]|:(?=[^ ,\[\]{}?]))*")
# Plain scalars that YAML reads as null.
_FLAT_NULLS = frozenset(("~", "null", "Null", "NULL"))
# An implicit key longer than this is an error for libyaml (1024); stay well below.
_FLAT_KEY_LIMIT = 1000


def _flat_scalar(line: str, start: int) -> tuple[str, int] | None:
    """A one-line scalar value at ``start``, and the 1-based column of its text.

    The text of a quoted scalar starts one column after the quote.
    """
    if line[start] == "'" or line[start] == '"':
        quoted = _flat_quoted(line, start)
        if quoted is None or not _flat_tail(line, quoted[1]):
            return None
        return quoted[0], start + 2
    plain = _flat_plain(line, start)
    return None if plain is None else (plain, start + 1)


def _flat_quoted(line: str, start: int) -> tuple[str, int] | None:
    """A one-line quoted scalar at ``line[start]``: (its text, the index after it), or None."""
    if line[start] == "'":
        end = line.find("'", start + 1)
        while end >= 0 and line.startswith("'", end + 1):  # '' stands for '
            end = line.find("'", end + 2)
        if end < 0:
            return None
        return line[start + 1 : end].replace("''", "'"), end + 1
    end = line.find('"', start + 1)
    if end < 0 or "\\" in line[start + 1 : end]:
        return None
    return line[start + 1 : end], end + 1


def _flat_tail(line: str, end: int) -> bool:
    """Whether only spaces and perhaps a comment follow a value ending at ``end``."""
    if end == len(line):
        return True
    if line[end] != " ":
        return False
    rest = line[end:].lstrip(" ")
    return not rest or rest[0] == "#"


def _flat_plain(line: str, start: int) -> str | None:
    """The plain scalar from ``line[start]`` to the end of the line (or a comment), or None."""
    if line[start] in _FLAT_INDICATORS:
        return None
    comment = line.find(" #", start)
    text = (line[start:] if comment < 0 else line[start:comment]).rstrip(" ")
    if ": " in text or text[-1] == ":" or text in _FLAT_NULLS:
        return None
    return text


def _flat_flow(line: str, start: int) -> tuple[list[tuple[str, int]], int] | None:
    """The items of a one-line ``[a, 'b']`` at ``line[start]``, with their text columns
    (1-based), and the index after the ``]``; or None."""
    items: list[tuple[str, int]] = []
    size = len(line)
    pos = start + 1
    while pos < size and line[pos] == " ":
        pos += 1
    if pos < size and line[pos] == "]":
        return items, pos + 1
    while pos < size:
        char = line[pos]
        if char == "'" or char == '"':
            quoted = _flat_quoted(line, pos)
            if quoted is None:
                return None
            text, end = quoted
            items.append((text, pos + 2))
        else:
            if char in _FLAT_INDICATORS:
                return None
            end = _FLAT_FLOW_PLAIN.match(line, pos).end()  # type: ignore[union-attr]
            text = line[pos:end].rstrip(" ")
            if text in _FLAT_NULLS:
                return None
            items.append((text, pos + 1))
        pos = end
        while pos < size and line[pos] == " ":
            pos += 1
        if pos >= size:
            return None
        if line[pos] == "]":
            return items, pos + 1
        if line[pos] != ",":
            return None
        pos += 1
        while pos < size and line[pos] == " ":
            pos += 1
        if pos < size and line[pos] in ",]":
            return None
    return None


def read_flat_zone(
    data: bytes, display: str
) -> tuple[list[RecordSpec], list[tuple[str, int, int, int]]] | None:
    """The record specs of a flat zone file, read without PyYAML; None if it is not flat.

    Flat means a mapping at the left margin whose values are one-line
    scalars (plain or quoted, without escapes), one-line ``[...]`` lists of
    such scalars, or block lists (``- record`` lines) of them; comments and
    blank lines anywhere. That is what generated zones of a million records
    look like, and PyYAML spends seconds building nodes for them. The specs
    and their positions are exactly those :meth:`Loader.record_specs` gives
    for PyYAML's nodes of the same text; anything this reader is not sure of
    (other YAML, odd characters, nulls, what YAML would reject) returns None
    so that PyYAML reads the file and reports what is wrong.

    Also returns the repeated keys, as (key, line, column, line of the first),
    whose records are left out as :meth:`Loader.mapping` leaves them out.
    """
    if data.translate(None, _FLAT_CHARACTERS):
        return None  # not printable ASCII and line feeds: tabs, CR, controls, UTF-8
    specs: list[RecordSpec] = []
    append = specs.append
    duplicates: list[tuple[str, int, int, int]] = []
    seen: dict[str, int] = {}
    first_seen = seen.setdefault
    match_key = _FLAT_KEY.match
    key = ""
    key_line = 0
    drop = False  # the current key is repeated: its records are left out
    pending = False  # the current key has no value on its line: a block list must follow
    items = 0  # entries of that block list so far
    item_indent = -1
    lineno = 0
    # One match per line: the common `key: value` split up, or else the whole line.
    for key_text, value, line in _FLAT_LINE.findall(data.decode("ascii")):
        lineno += 1
        if key_text:
            if pending:
                if not items:
                    return None  # the key before has no value: null
                pending = False
            quote = value[0]
            if quote == "'" or quote == '"':
                value, column = value[1:-1], len(key_text) + 4
            else:
                column = len(key_text) + 3
            first_line = first_seen(key_text, lineno)
            if first_line == lineno:
                append((key_text, lineno, 1, value, lineno, column, None, None, display))
            else:
                duplicates.append((key_text, lineno, 1, first_line))
            continue
        if not line:
            continue
        first = line[0]
        if first == "#":
            continue
        if first == " " or (first == "-" and pending):
            content = line.lstrip(" ")
            if not content or content[0] == "#":
                continue
            if not pending:
                return None  # a continuation line or a nested block
            indent = len(line) - len(content)
            if (items and indent != item_indent) or content[:2] != "- ":
                return None
            item_indent = indent
            items += 1
            start = indent + 2
            while start < len(line) and line[start] == " ":
                start += 1
            if start == len(line):
                return None
            scalar = _flat_scalar(line, start)
            if scalar is None:
                return None
            value, column = scalar
            if not drop:
                append((key, key_line, 1, value, lineno, column, None, None, display))
            continue
        if pending:
            if not items:
                return None  # a key without a value: null
            pending = False
        # A key at the left margin.
        if first == "'" or first == '"':
            quoted = _flat_quoted(line, 0)
            if quoted is None:
                return None
            key, pos = quoted
        else:
            match = match_key(line)
            if match is None:
                return None
            pos = match.end()
            key = line[:pos]
        if pos > _FLAT_KEY_LIMIT:
            return None
        size = len(line)
        while pos < size and line[pos] == " ":
            pos += 1
        if pos == size or line[pos] != ":":
            return None
        pos += 1
        if pos < size and line[pos] != " ":
            return None
        while pos < size and line[pos] == " ":
            pos += 1
        key_line = lineno
        first_line = first_seen(key, lineno)
        drop = first_line != lineno
        if drop:
            duplicates.append((key, lineno, 1, first_line))
        if pos == size or line[pos] == "#":
            pending = True
            items = 0
            continue
        char = line[pos]
        if char == "[":
            flow = _flat_flow(line, pos)
            if flow is None or not _flat_tail(line, flow[1]):
                return None
            if not drop:
                for value, column in flow[0]:
                    append((key, lineno, 1, value, lineno, column, None, None, display))
            continue
        scalar = _flat_scalar(line, pos)
        if scalar is None:
            return None
        value, column = scalar
        if not drop:
            append((key, lineno, 1, value, lineno, column, None, None, display))
    if pending and not items:
        return None
    return specs, duplicates


_TYPE_HINTS = {
    "A": "an IPv4 address such as 192.0.2.1",
    "AAAA": "an IPv6 address such as 2001:db8::1",
    "MX": "PREFERENCE EXCHANGE with a preference from 0 to 65535, e.g. MX 10 mail.example.com.",
    "SRV": "PRIORITY WEIGHT PORT TARGET, each number 0-65535, e.g. SRV 10 5 5060 sip.example.com.",
    "CAA": 'FLAGS TAG "VALUE" with flags 0-255, e.g. CAA 0 issue "letsencrypt.org"',
    "CNAME": "one domain name, e.g. CNAME www.example.com.",
    "NS": "one domain name, e.g. NS ns1.example.com.",
    "PTR": "one domain name, e.g. PTR host.example.com.",
    "TXT": 'one or more strings, e.g. TXT "v=spf1 mx -all"',
    "SSHFP": "ALGORITHM TYPE FINGERPRINT, e.g. SSHFP 4 2 <hex>",
    "TLSA": "USAGE SELECTOR TYPE DATA, e.g. TLSA 3 1 1 <hex>",
}

KNOWN_CAA_TAGS = (
    "issue",
    "issuewild",
    "iodef",
    "issuemail",
    "issuevmc",
    "contactemail",
    "contactphone",
)


# [TTL] [IN] TYPE RDATA, with the TTL and class in either order as in master files.
_RECORD_TEXT = re.compile(
    r"(?:(?P<ttl>[0-9][0-9A-Za-z]*)[ \t]+)?(?:(?i:in)[ \t]+)?"
    r"(?:(?P<ttl2>[0-9][0-9A-Za-z]*)[ \t]+)?(?P<type>[A-Za-z][A-Za-z0-9-]*)(?:[ \t]+|$)"
)
_TYPES: dict[str, int] = {}


def _rdtype(text: str) -> int:
    """The type number of a mnemonic (or TYPEnnn); raises UnknownRdatatype."""
    rdtype = _TYPES.get(text)
    if rdtype is None:
        rdtype = _TYPES[text] = dns.rdatatype.from_text(text)
    return rdtype


def parse_record_text(
    text: str,
    position: Position,
    origin: str,
    report: Callable[[Diagnostic], None],
) -> tuple[int | None, int, str, dns.rdata.Rdata | None] | None:
    """Parse ``[TTL] [IN] TYPE RDATA`` relative to ``origin`` (absolute text).

    Returns (ttl or None, type, canonical absolute RDATA text, the dnspython
    object if one was made), or None after reporting the problem. TXT and
    SPF strings longer than 255 octets are split into 255-octet strings, so
    authors can write a DKIM key as one string.
    """
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    match = _RECORD_TEXT.match(stripped)
    if match is None:
        report(
            error(position, "bad-record", f"'{text}' has no record type; write e.g. 'A 192.0.2.1'")
        )
        return None
    ttl = None
    if match["ttl"] and match["ttl2"]:
        report(
            error(
                position.shifted(lead + match.start("ttl2")),
                "bad-ttl",
                f"'{text}' gives two TTLs; write one, e.g. '300 A 192.0.2.1'",
            )
        )
        return None
    ttl_text = match["ttl"] or match["ttl2"]
    if ttl_text is not None:
        try:
            ttl = parse_ttl(ttl_text)
        except ValueError as exc:
            at = match.start("ttl") if match["ttl"] else match.start("ttl2")
            report(error(position.shifted(lead + at), "bad-ttl", str(exc)))
            return None
    type_text = match["type"]
    type_offset = lead + match.start("type")
    try:
        rdtype = _rdtype(type_text.upper())
    except dns.rdatatype.UnknownRdatatype:
        known = [t.name for t in dns.rdatatype.RdataType]
        close = difflib.get_close_matches(type_text.upper(), known, n=1)
        hint = f"did you mean {close[0]}?" if close else "write a type such as A, AAAA, MX, TXT"
        report(
            error(
                position.shifted(type_offset),
                "unknown-type",
                f"unknown record type '{type_text}'; {hint}",
            )
        )
        return None
    if dns.rdatatype.is_metatype(rdtype) or rdtype == dns.rdatatype.OPT:
        report(
            error(
                position.shifted(type_offset),
                "unknown-type",
                f"'{type_text}' is not a record type that can be in a zone",
            )
        )
        return None
    data_text = stripped[match.end() :]
    rdata_offset = lead + match.end()
    try:
        if rdtype in (dns.rdatatype.TXT, dns.rdatatype.SPF):
            canonical = rdtext.fast(rdtype, data_text.strip(), origin)
            if canonical is not None:
                return ttl, rdtype, canonical, None
            rdata = _split_txt(rdtype, data_text)
            _check_rdata_size(rdata)
            return ttl, rdtype, rdata.to_text(), rdata
        canonical, rdata = rdtext.parse(rdtype, data_text, origin)
        if rdata is not None and len(data_text) > 8000:
            _check_rdata_size(rdata)  # only long text can exceed RDLENGTH
    except Exception as exc:  # dnspython raises many kinds for bad rdata
        type_name = dns.rdatatype.to_text(rdtype)
        reason = str(exc) or type(exc).__name__
        hint = _TYPE_HINTS.get(type_name)
        message = f"invalid {type_name} data '{data_text.strip()}': {reason}"
        if hint:
            message += f"; expected {hint}"
        report(error(position.shifted(rdata_offset), "bad-rdata", message))
        return None
    return ttl, rdtype, canonical, rdata


def _check_rdata_size(rdata: dns.rdata.Rdata) -> None:
    """Raise ValueError if ``rdata`` does not fit a DNS message, as master files are checked."""
    from zonesmith.masterfile import _MAX_RDATA as MAX_RDATA

    size = len(rdata.to_wire())
    if size > MAX_RDATA:
        raise ValueError(
            f"the data is {size} octets, more than the {MAX_RDATA} that fit in a DNS message"
        )


def _split_txt(rdtype: dns.rdatatype.RdataType, text: str) -> dns.rdata.Rdata:
    tokenizer = dns.tokenizer.Tokenizer(text)
    strings: list[bytes] = []
    while True:
        token = tokenizer.get().unescape_to_bytes()
        if token.is_eol_or_eof():
            break
        if not (token.is_quoted_string() or token.is_identifier()):
            raise dns.exception.SyntaxError("expected a string")
        value = token.value if isinstance(token.value, bytes) else token.value.encode()
        if not value:
            strings.append(b"")
        for start in range(0, len(value), 255):
            strings.append(value[start : start + 255])
    if not strings:
        raise dns.exception.SyntaxError("no strings given")
    cls = dns.rdata.get_rdata_class(dns.rdataclass.IN, rdtype)
    return cls(dns.rdataclass.IN, rdtype, strings)


_BIND_KEY_SECRET = re.compile(r'secret\s+"([^"]+)"')


class SecretError(ValueError):
    """Why a key's secret cannot be had; ``rule`` is the rule id to report it under."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule


def _secret_path(root: str, key: TsigKey) -> Path:
    """Where a key's secret file is, once sure it lies in the site, links followed,
    and is a regular file if it exists (a FIFO or a device would hang or flood the read).
    """
    assert key.secret_file is not None
    if "\0" in key.secret_file:
        raise SecretError("missing-secret", f"key '{key.name}': secret-file holds a NUL character")
    path = Path(root) / key.secret_file
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise SecretError(
            "secret-outside-site",
            f"key '{key.name}': secret file {key.secret_file} is outside the site "
            f"(links followed); keep it in the site folder, git-ignored, e.g. "
            f"secrets/{key.name}.key",
        )
    if os.path.exists(path) and not os.path.isfile(path):  # (False for a name too long)
        raise SecretError(
            "missing-secret",
            f"key '{key.name}': secret file {key.secret_file} is not a regular file",
        )
    return path


def read_secret(root: str, key: TsigKey) -> str:
    """The base64 secret of a TSIG key, from its file or environment variable.

    A secret file holds the secret alone, or the key statement that
    ``tsig-keygen`` prints. Raises SecretError, whose message never holds
    the secret.
    """
    if key.secret_file is not None:
        path = _secret_path(root, key)
        if not is_site_file(root, key.secret_file):
            raise SecretError(
                "missing-secret",
                f"key '{key.name}': secret file {key.secret_file} does not exist; create it "
                f"(e.g. tsig-keygen -a {key.algorithm} {key.name}, keeping only the secret) "
                "and keep it out of git",
            )
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise SecretError(
                "missing-secret", f"key '{key.name}': cannot read {key.secret_file}: {reason}"
            ) from None
    else:
        text = os.environ.get(key.secret_env or "", "")
        if not text:
            raise SecretError(
                "missing-secret",
                f"key '{key.name}': environment variable {key.secret_env} is not set",
            )
    match = _BIND_KEY_SECRET.search(text)
    secret = (match.group(1) if match else text).strip()
    try:
        if not secret or not base64.b64decode(secret, validate=True):
            raise ValueError
    except (binascii.Error, ValueError):
        where = key.secret_file or f"${key.secret_env}"
        raise SecretError(
            "bad-secret",
            f"key '{key.name}': {where} does not hold a base64 secret (make one with tsig-keygen)",
        ) from None
    return secret


def load_site(root: Path | str, cache: ZoneCache | None = None) -> tuple[Site, list[Diagnostic]]:
    """Load the site at ``root``; returns the model and what loading found wrong.

    With a ``cache``, zones whose files are unchanged since it was written
    are taken from it instead of being read again.
    """
    loader = Loader(Path(root), cache)
    site = loader.load()
    return site, loader.diagnostics
