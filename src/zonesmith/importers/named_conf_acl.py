"""BIND address match lists (``match-clients``, ``acl``) as the clients and keys of views."""

from __future__ import annotations

import ipaddress

from zonesmith.importers.named_conf_options import Warn
from zonesmith.importers.named_conf_parser import ConfBlock, ConfStatement
from zonesmith.site.values import check_address_match_element

MAX_ACL_DEPTH = 16


class MatchLists:
    """Reads address match lists, following the named.conf's ``acl`` statements."""

    def __init__(self, warn: Warn):
        self.warn = warn
        self.acls: dict[str, ConfStatement] = {}

    def match_list(
        self, block: ConfBlock | None, where: str, depth: int = 0
    ) -> tuple[list[str], list[str]]:
        """Address match list -> (clients, keys); what cannot be said is reported."""
        clients: list[str] = []
        keys: list[str] = []
        for element in block.statements if block else []:
            words = [w.text for w in element.words]
            if element.block is not None and not words:
                inner, inner_keys = self.match_list(element.block, where, depth + 1)
                if any(c.startswith("!") for c in inner) or inner_keys:
                    self.warn(
                        element.position,
                        f"{where}: a nested list with negations or keys is not carried over",
                    )
                else:
                    clients += inner
                continue
            negated = False
            if words and words[0] == "!":
                negated, words = True, words[1:]
            elif words and words[0].startswith("!"):
                negated, words = True, [words[0][1:], *words[1:]]
            if not words:
                continue
            if words[0] == "key" and len(words) == 2:
                if negated:
                    keys.append("!" + words[1])
                else:
                    keys.append(words[1])
                continue
            element_text = words[0]
            if element_text in self.acls and depth < MAX_ACL_DEPTH:
                inner, inner_keys = self.match_list(
                    self.acls[element_text].block, f"acl '{element_text}'", depth + 1
                )
                if negated:
                    if len(inner) == 1 and not inner[0].startswith("!") and not inner_keys:
                        clients.append("!" + inner[0])
                    else:
                        self.warn(
                            element.position,
                            f"{where}: '!{element_text}' negates an acl "
                            "of several elements; not carried over",
                        )
                    continue
                clients += inner
                keys += inner_keys
                continue
            if len(words) > 1 or element_text == "geoip":
                self.warn(element.position, f"{where}: '{' '.join(words)}' is not carried over")
                continue
            problem = check_address_match_element(element_text)
            if problem and "host bits" in problem:
                fixed = str(ipaddress.ip_network(element_text, strict=False))
                self.warn(
                    element.position,
                    f"{where}: {problem}; written as {fixed}",
                    "address-normalized",
                )
                element_text, problem = fixed, None
            if problem:
                self.warn(element.position, f"{where}: {problem}; not carried over")
                continue
            clients.append(("!" if negated else "") + element_text)
        return clients, keys
