"""Rules switched off in YAML: ``rules:`` of zonesmith.yaml and ``rules:`` beside a name's records.

Which ids name a rule, and which rules may be switched off, is for the rules
to say (:mod:`zonesmith.rules.switches`): here the switches are only read,
with the position of each id.
"""

from __future__ import annotations

import dns.exception
import dns.name

from zonesmith.model import RuleSwitch
from zonesmith.site.values import describe_name_error
from zonesmith.site.yaml_nodes import SourceFile, yaml

_OFF = "off"
_VALUES = (_OFF, "warning", "error")


class RuleSwitchesSection:
    """``rules:`` (mixed into the Loader)."""

    def load_rule_switches(
        self, source: SourceFile, node: yaml.Node | None
    ) -> tuple[RuleSwitch, ...]:
        """``rules: {RULE: off}`` (the whole site; or ``warning``, ``error``: its findings
        take that severity) and ``rules: {RULE: {off: [NAME, ...]}}`` (those names;
        ``*.example.net`` for every name below example.net)."""
        switches = []
        for rule, (key_node, value_node) in self.mapping(source, node, None, "rules").items():
            where = f"rules {rule}"
            if isinstance(value_node, yaml.MappingNode):
                entries = self.mapping(source, value_node, (_OFF,), where)
                if _OFF not in entries:
                    continue
                names = []
                for text, position in self.scalars(source, entries[_OFF][1], f"{where} off"):
                    name = _name_pattern(text)
                    if isinstance(name, str):
                        names.append(name)
                    else:
                        message = f"{where} off: {describe_name_error(text, name)}"
                        self.error(position, "bad-name", message)
                switches.append(RuleSwitch(rule, source.at(key_node), tuple(names)))
            elif (value := self._value(source, value_node, where)) is not None:
                switches.append(RuleSwitch(rule, source.at(key_node), severity=value or None))
        return tuple(switches)

    def record_switches(
        self, source: SourceFile, node: yaml.Node, at: tuple[tuple[str, int, int], ...], what: str
    ) -> None:
        """``rules: {RULE: off}`` (or ``warning``, ``error``) beside records, which are
        ``at`` (path, line, column): kept in ``self.rule_switches`` until the file's
        records are taken."""
        entries = self.mapping(source, node, None, f"{what} rules")
        for rule, (key_node, value_node) in entries.items():
            value = self._value(source, value_node, f"{what} rules {rule}")
            if value is not None:
                switch = RuleSwitch(rule, source.at(key_node), None, at, value or None)
                self.rule_switches.append(switch)

    def _value(self, source: SourceFile, node: yaml.Node, where: str) -> str | None:
        """A switch's value: "" for ``off``, or the severity its findings take instead
        (``warning``, ``error``); None: another value, reported."""
        text = self.scalar(source, node, where)
        if text is None:
            return None
        # YAML 1.1 reads a bare off as false: the text is what the user wrote.
        value = text.lower()
        if value not in _VALUES:
            message = f"{where} must be 'off', 'warning' or 'error', not '{text}'"
            self.error(source.at(node), "bad-value", message)
            return None
        return "" if value == _OFF else value


def _name_pattern(text: str) -> str | Exception:
    """A name of ``rules: {RULE: {off: [...]}}`` as absolute text in lower case (``*.``
    kept in front), or why it is not a name."""
    wild = text.startswith("*.")
    try:
        name = dns.name.from_text(text[2:] if wild else text)
    except dns.exception.DNSException as exc:
        return exc
    return ("*." if wild else "") + name.to_text().lower()
