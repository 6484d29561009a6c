"""SPF records (RFC 7208) read into their terms: text in, structure and problems out.

pyspf, the maintained SPF library, evaluates a record for one client
address against live DNS (its query object asks the network, lookup by
lookup, and stops at the first match), so it can neither read a record
without querying nor count every branch's lookups; checkdmarc asks the
network for every record itself. The grammar of RFC 7208 section 12 is
small, so it is read here, and the lookups are answered from the site by
the rules (:mod:`zonesmith.rules.mail.spf`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from zonesmith.presentation import is_plain_ipv4

MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
#: the terms that cost a DNS lookup (RFC 7208 4.6.4)
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
_QUALIFIERS = "+-?~"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\Z")
#: RFC 7208 7.1: macro-expand, or a visible character other than '%'
_MACRO = re.compile(r"%\{([slodiphcrtv])(\d*)(r?)([.\-+,/_=]*)\}|%%|%_|%-", re.IGNORECASE)
_LITERAL = re.compile(r"[\x21-\x24\x26-\x7e]*\Z")
_TOPLABEL = re.compile(r"(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")
#: a prefix length as written (no leading zeros) -> its value
_PREFIX_LENGTHS = {str(n): n for n in range(129)}


class Term(NamedTuple):
    """One directive or modifier: ``qualifier`` ('' for modifiers), ``name`` in lower case,
    ``domain`` its domain-spec (None: none given), ``value`` what follows the ':' or '='."""

    qualifier: str
    name: str
    value: str = ""
    domain: str | None = None
    #: whether the domain-spec holds macros (then it is known only when mail arrives)
    macro: bool = False


@dataclass
class SpfRecord:
    terms: list[Term] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: the qualifier of the record's 'all' mechanism (None: it has none)
    all_qualifier: str | None = None
    #: the terms that cost a DNS lookup when receivers evaluate the record, in order (a
    #: redirect= is not followed when the record has 'all', RFC 7208 6.1)
    lookup_terms: tuple[Term, ...] = ()

    @property
    def mechanisms(self) -> list[Term]:
        return [t for t in self.terms if t.qualifier]


def _macro_string(text: str, exp: bool = False) -> str | None:
    """Why ``text`` is not a macro-string (None: it is)."""
    rest = text
    for found in _MACRO.finditer(text):
        letter = found.group(1)
        if letter and letter.lower() in "crt" and not exp:
            return f"macro '{found.group(0)}' is only allowed in exp="
    rest = _MACRO.sub("", text)
    if "%" in rest:
        return f"'{text}' has a '%' that starts no macro (write '%%' for a percent sign)"
    if not _LITERAL.match(rest):
        return f"'{text}' has a character SPF does not allow"
    return None


def _domain_spec(text: str) -> str | None:
    """Why ``text`` is not a domain-spec (None: it is)."""
    if not text:
        return "a domain is missing"
    if "%" not in text and _LITERAL.match(text):  # no macro: a plain name
        last = text.rstrip(".").rpartition(".")
        if last[1] and _TOPLABEL.match(last[2]):
            return None
    problem = _macro_string(text)
    if problem:
        return problem
    if _MACRO.search(text) and _MACRO.sub("", text).rstrip(".").rpartition(".")[2] == "":
        return None  # ends in a macro: domain-end = macro-expand
    if text.endswith("}"):
        return None
    last = text.rstrip(".").rpartition(".")
    if not last[1] or not _TOPLABEL.match(last[2]):
        return f"'{text}' is not a domain name (its last label must be a top-level label)"
    return None


def _cidr(text: str, bits: int) -> str | None:
    if _PREFIX_LENGTHS.get(text, bits + 1) > bits:
        return f"'/{text}' is not a prefix length of 0 to {bits}"
    return None


def _split_cidr(arg: str) -> tuple[str, list[str] | None]:
    """A mechanism's argument and its dual-cidr-length parts (None: none given)."""
    head, slash, tail = arg.partition("/")
    return head, (tail.split("/") if slash else None)


def _dual_cidr(parts: list[str]) -> str | None:
    # dual-cidr-length = [ "/" ip4-cidr ] [ "//" ip6-cidr ]
    if len(parts) == 1:
        return _cidr(parts[0], 32)
    if len(parts) == 2 and parts[0] == "":
        return _cidr(parts[1], 128)
    if len(parts) == 3 and parts[1] == "":
        return _cidr(parts[0], 32) or _cidr(parts[2], 128)
    return f"'/{'/'.join(parts)}' is not a prefix length (ip4 /N, ip6 //N)"


def _mechanism(qualifier: str, word: str) -> tuple[Term | None, str | None]:
    name, colon, arg = word.partition(":")
    lower = name.lower()
    if lower in ("a", "mx") or (lower.startswith(("a/", "mx/"))):
        lower, slash, cidr = lower.partition("/")
        if slash and colon:
            return None, f"'{word}': the prefix length goes after the domain"
        if slash:
            return Term(qualifier, lower), _dual_cidr(cidr.split("/"))
        domain, parts = _split_cidr(arg)
        if colon:
            problem = _domain_spec(domain) or (_dual_cidr(parts) if parts is not None else None)
            return Term(qualifier, lower, arg, domain, "%" in domain), problem
        return Term(qualifier, lower), None
    if lower not in MECHANISMS:
        return None, f"'{word}' is not a mechanism ({', '.join(MECHANISMS)})"
    if lower == "all":
        return Term(qualifier, lower), (f"'{word}': all takes no argument" if colon else None)
    if lower == "ptr":
        if not colon:
            return Term(qualifier, lower), None
        return Term(qualifier, lower, arg, arg, "%" in arg), _domain_spec(arg)
    if not colon or not arg:
        return None, f"'{word}': {lower} needs ':' and a value"
    if lower in ("include", "exists"):
        return Term(qualifier, lower, arg, arg, "%" in arg), _domain_spec(arg)
    address, parts = _split_cidr(arg)
    bits = 32 if lower == "ip4" else 128
    try:
        # (a plain dotted quad, as most ip4: are, is known valid without ipaddress's cost)
        width = 32 if is_plain_ipv4(address) else ipaddress.ip_address(address).max_prefixlen
    except ValueError:
        return None, f"'{word}': '{address}' is not an IPv{4 if bits == 32 else 6} address"
    if width != bits:
        return None, f"'{word}': '{address}' is not an IPv{4 if bits == 32 else 6} address"
    problem = None
    if parts is not None:
        problem = _cidr(parts[0], bits) if len(parts) == 1 else f"'{word}': one prefix length"
    return Term(qualifier, lower, arg), problem


def parse_spf(text: str) -> SpfRecord:
    """An SPF record's terms, and its problems (each one sentence)."""
    words = text.split(" ")
    if words[0].lower() != "v=spf1":
        return SpfRecord([], ["an SPF record starts with 'v=spf1'"])
    terms: list[Term] = []
    problems: list[str] = []
    ending: str | None = None
    lookups: list[Term] = []
    for word in words[1:]:
        if not word:
            continue  # several spaces between terms are allowed
        term, problem = _term(word)
        if term is not None:
            name = term.name
            if not term.qualifier and name in ("redirect", "exp"):
                if any(not t.qualifier and t.name == name for t in terms):
                    problems.append(f"modifier '{name}=' is given twice")
                    continue
            elif name == "all" and term.qualifier and ending is None:
                ending = term.qualifier
            terms.append(term)
            if name in LOOKUP_TERMS:
                lookups.append(term)
        if problem:
            problems.append(problem if word in problem else f"'{word}': {problem}")
    if ending is not None:
        lookups = [t for t in lookups if t.name != "redirect"]
    return SpfRecord(terms, problems, ending, tuple(lookups))


@lru_cache(maxsize=65536)
def _term(word: str) -> tuple[Term | None, str | None]:
    """One term read, and its problem (terms repeat across a site's records: read once)."""
    name, equals, value = word.partition("=")
    if equals and _NAME.match(name) and ":" not in name and "/" not in name:
        lower = name.lower()
        if lower in ("redirect", "exp"):
            return Term("", lower, value, value, "%" in value), _domain_spec(value)
        return Term("", lower, value), _macro_string(value)
    qualifier = word[0] if word[0] in _QUALIFIERS else "+"
    return _mechanism(qualifier, word[1:] if word[0] in _QUALIFIERS else word)
