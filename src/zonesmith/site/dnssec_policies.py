"""``dnssec-policies:`` of zonesmith.yaml: how signed zones are signed."""

from __future__ import annotations

import dataclasses
import re

from zonesmith.model import DNSSEC_ALGORITHMS, DnssecPolicy
from zonesmith.site.values import shown
from zonesmith.site.yaml_nodes import SourceFile, yaml

_POLICY_KEYS = (
    "algorithm",
    "keys",
    "csk-lifetime",
    "ksk-lifetime",
    "zsk-lifetime",
    "signature-validity",
    "signature-refresh",
    "nsec",
    "nsec3",
    "ds",
)
_NSEC3_KEYS = ("iterations", "salt", "opt-out")
_CHOICES = {"keys": ("csk", "ksk+zsk"), "nsec": ("nsec", "nsec3"), "ds": ("manual", "cds")}
#: Names BIND gives its built-in policies (which change between versions) and Knot its default.
RESERVED_POLICIES = ("default", "none", "insecure")
_HEX = re.compile(r"[0-9a-fA-F]{2,510}")


class DnssecPoliciesSection:
    """``dnssec-policies:``: named signing policies that zones opt into."""

    def load_dnssec_policies(
        self, source: SourceFile, node: yaml.Node | None
    ) -> tuple[DnssecPolicy, ...]:
        policies = []
        for name, (key_node, value_node) in self.mapping(
            source, node, None, "dnssec-policies"
        ).items():
            if not self.identifier(source, key_node, "a DNSSEC policy", name):
                continue
            if name.lower() in RESERVED_POLICIES:
                self.error(
                    source.at(key_node),
                    "bad-identifier",
                    f"DNSSEC policy '{name}' takes the name of a signer's built-in policy; "
                    "name it after what it is (for example 'standard')",
                )
                continue
            policies.append(self._policy(source, name, key_node, value_node))
        return tuple(policies)

    def _policy(
        self, source: SourceFile, name: str, key_node: yaml.Node, node: yaml.Node
    ) -> DnssecPolicy:
        where = f"DNSSEC policy '{name}'"
        entries = self.mapping(source, node, _POLICY_KEYS, where)
        values: dict[str, object] = {}
        positions = tuple((key, source.at(value)) for key, (_, value) in entries.items())
        for key, (_, value_node) in entries.items():
            what = f"{where} {key}"
            if key == "algorithm":
                text = self.scalar(source, value_node, what)
                if text is not None and text.upper().replace("-", "") in DNSSEC_ALGORITHMS:
                    values["algorithm"] = text.upper().replace("-", "")
                elif text is not None:
                    self._choice_error(source, value_node, what, text, DNSSEC_ALGORITHMS)
            elif key in _CHOICES:
                text = self.scalar(source, value_node, what)
                if text is not None and text.lower() in _CHOICES[key]:
                    values[key] = text.lower()
                elif text is not None:
                    self._choice_error(source, value_node, what, text, _CHOICES[key])
            elif key.endswith("-lifetime"):
                text = self.scalar(source, value_node, what)
                if text == "unlimited":
                    continue
                seconds = self.duration(source, value_node, what)
                if seconds is not None:
                    values[key.replace("-", "_")] = seconds
            elif key == "nsec3":
                values.update(self._nsec3(source, value_node, what))
            else:
                seconds = self.duration(source, value_node, what)
                if seconds is not None:
                    values[key.replace("-", "_")] = seconds
        policy = DnssecPolicy(name, source.at(key_node), positions=positions)
        return dataclasses.replace(policy, **values)  # type: ignore[arg-type]

    def _nsec3(self, source: SourceFile, node: yaml.Node, where: str) -> dict[str, object]:
        values: dict[str, object] = {}
        for key, (_, value_node) in self.mapping(source, node, _NSEC3_KEYS, where).items():
            what = f"{where} {key}"
            if key == "opt-out":
                flag = self.boolean(source, value_node, what)
                if flag is not None:
                    values["nsec3_opt_out"] = flag
                continue
            text = self.scalar(source, value_node, what)
            if text is None:
                continue
            if key == "iterations" and text.isdigit() and int(text) <= 65535:
                values["nsec3_iterations"] = int(text)
            elif key == "salt" and (text in ("", "-") or _HEX.fullmatch(text)):
                values["nsec3_salt"] = "" if text == "-" else text.lower()
            else:
                expected = (
                    "a number from 0 to 65535 (0, as RFC 9276 says)"
                    if key == "iterations"
                    else "hex digits, or '-' for none (none, as RFC 9276 says)"
                )
                self.error(source.at(value_node), "bad-value", f"{what}: write {expected}")
        return values

    def _choice_error(
        self, source: SourceFile, node: yaml.Node, what: str, text: str, choices: tuple[str, ...]
    ) -> None:
        self.error(
            source.at(node),
            "bad-value",
            f"{what}: {shown(text)} is not one of {', '.join(choices)}",
        )
