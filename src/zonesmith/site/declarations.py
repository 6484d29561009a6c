"""The sections of zonesmith.yaml besides zones: defaults, keys, views, servers, lists, sets."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.tokenizer

from zonesmith.declared import RecordSpec
from zonesmith.diagnostics import Position
from zonesmith.model import (
    OWN_KEY_PREFIX,
    ROLES,
    SOFTWARES,
    Blocklist,
    Defaults,
    Reference,
    Server,
    Soa,
    TsigKey,
    View,
)
from zonesmith.site.files import SITE_FILE
from zonesmith.site.values import (
    _CONTACT,
    _SERVER_PATH,
    TSIG_ALGORITHMS,
    check_address_match_element,
    describe_name_error,
    normalize_name,
    rname_from_contact,
    shown,
)
from zonesmith.site.yaml_nodes import SourceFile, _text_shift, yaml


class DefaultsSection:
    """``defaults:``: the default TTL and SOA fields."""

    def load_defaults(
        self, source: SourceFile, node: yaml.Node | None, document: yaml.Node | None
    ) -> Defaults:
        where = source.at(node) if node is not None else Position(source.display, 1, 1)
        entries = self.mapping(source, node, ("ttl", "soa", "dnssec"), "defaults")
        ttl = 3600
        if "ttl" in entries:
            ttl = self.duration(source, entries["ttl"][1], "defaults ttl", ttl=True) or ttl
        soa = None
        if "soa" in entries:
            soa = self.load_soa(source, entries["soa"][1], None, "defaults soa")
        dnssec = None
        if "dnssec" in entries:
            dnssec = self.policy_reference(source, entries["dnssec"][1], "defaults dnssec")
        return Defaults(ttl, soa, where, dnssec)

    def policy_reference(self, source: SourceFile, node: yaml.Node, what: str) -> Reference | None:
        """The DNSSEC policy a zone (or the defaults) names."""
        text = self.scalar(source, node, what)
        return Reference(text, source.at(node)) if text is not None else None

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


class KeysSection:
    """``keys:``: TSIG keys, whose secrets live outside the site file."""

    def load_keys(self, source: SourceFile, node: yaml.Node | None) -> tuple[TsigKey, ...]:
        keys = []
        for name, (key_node, value_node) in self.mapping(source, node, None, "keys").items():
            where = f"key '{name}'"
            if not self.identifier(source, key_node, "a key", name):
                continue
            if name.lower().startswith(OWN_KEY_PREFIX):
                self.error(
                    source.at(key_node),
                    "bad-identifier",
                    f"{where}: names starting with '{OWN_KEY_PREFIX}' are zonesmith's own "
                    "(its control and deploy keys); choose another name",
                )
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


class ViewsSection:
    """``views:``: the views of a split horizon and their clients."""

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


class ServersSection:
    """``servers:``: every server, its software, role and addresses."""

    def load_servers(self, source: SourceFile, node: yaml.Node | None) -> tuple[Server, ...]:
        # Over 80 lines: One field of a server after another, each checked and reported where it
        # is written.
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
            "host",
            "control-port",
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

            host, host_ok = (
                self.load_host(source, entries["host"][1], where)
                if "host" in entries
                else (None, True)
            )
            control_port, control_ok = (
                self.load_control_port(source, entries["control-port"][1], where, software)
                if "control-port" in entries
                else (None, True)
            )
            if not (ok and host_ok and control_ok):
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
                    host=host,
                    control_port=control_port,
                )
            )
        return tuple(servers)


class MailSendersSection:
    """``mail-senders:``: the names mail leaves from, whose reverse records are checked."""

    def load_mail_senders(
        self, source: SourceFile, node: yaml.Node | None
    ) -> tuple[Reference, ...]:
        if node is None:
            return ()
        senders = []
        for text, position in self.scalars(source, node, "mail-senders"):
            name = normalize_name(text.lower()) if not text.startswith(("*", ".")) else None
            if name is None:
                self.error(
                    position,
                    "bad-name",
                    f"mail-senders: {shown(text)} is not a host name such as mail.example.com",
                )
                continue
            senders.append(Reference(name + ".", position))
        return tuple(senders)


class BlocklistsSection:
    """``blocklists:``: sources, allowlists and the action of each list."""

    def load_blocklists(self, source: SourceFile, node: yaml.Node | None) -> tuple[Blocklist, ...]:
        from zonesmith.site.values import normalize_name

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


class SetsSection:
    """``sets:``: shared record sets, kept as text until a zone includes them."""

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
        # Over 80 lines: The three shapes a name's records may take (a string, a mapping, a list
        # of both), each with its positions.
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
            entries = self.mapping(source, node, ("records", "ttl", "view", "rules"), what)
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
            specs = self.owner_specs(
                source, owner, owner_line, owner_column, records_node, inner_ttl, inner_view, where
            )
            if "rules" not in entries:
                yield from specs
                return
            specs = list(specs)
            at = tuple((spec[8], spec[4], spec[5]) for spec in specs)
            self.record_switches(source, entries["rules"][1], at, what)
            yield from specs
        else:
            self.error(source.at(node), "bad-value", f"{what}: no records given")
