"""One octoDNS record value <-> dnspython rdata, in both directions."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdtypes.ANY.CAA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.NAPTR

from zonesmith.importers.content import T

IN = dns.rdataclass.IN
YAML_PROVIDERS = ("octodns.provider.yaml.YamlProvider",)
_SIMPLE = ("A", "AAAA", "NS", "CNAME", "DNAME", "PTR", "OPENPGPKEY")
_SVCB_LISTS = ("alpn", "ipv4hint", "ipv6hint", "mandatory")


class OctoValueError(ValueError):
    pass


def _need(value: object, *fields: str) -> dict:
    if not isinstance(value, dict):
        raise OctoValueError(f"expected a mapping with {', '.join(fields)}")
    missing = [f for f in fields if f not in value]
    if missing:
        raise OctoValueError(f"missing {', '.join(missing)}")
    return value


def octodns_txt_strings(value: object) -> list[bytes]:
    """An octoDNS TXT/SPF value (``\\;`` escaped, maybe pre-chunked) -> 255-octet strings."""
    text = str(value)
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        text = text[1:-1].replace('" "', "")  # octoDNS's own chunked form
    text = text.replace("\\;", ";")
    data = text.encode("utf-8")
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]


def octodns_to_rdata(rtype: str, value: object, origin: dns.name.Name) -> dns.rdata.Rdata:
    """One octoDNS value of type ``rtype`` as dnspython rdata."""
    rdtype = T.from_text(rtype)
    if rtype in ("TXT", "SPF"):
        return dns.rdtypes.ANY.TXT.TXT(IN, rdtype, octodns_txt_strings(value))
    if rtype == "CAA":
        v = _need(value, "tag", "value")
        return dns.rdtypes.ANY.CAA.CAA(
            IN, T.CAA, int(v.get("flags", 0)), str(v["tag"]).encode(), str(v["value"]).encode()
        )
    if rtype == "NAPTR":
        v = _need(value, "order", "preference", "flags", "service", "regexp", "replacement")
        return dns.rdtypes.IN.NAPTR.NAPTR(
            IN, T.NAPTR, int(v["order"]), int(v["preference"]), str(v["flags"]),
            str(v["service"]), str(v["regexp"]), dns.name.from_text(str(v["replacement"]), origin),
        )  # fmt: skip
    if rtype in _SIMPLE:
        text = str(value)
    elif rtype == "MX":
        v = _need(value)
        preference = v.get("preference", v.get("priority"))
        exchange = v.get("exchange", v.get("value"))
        if preference is None or exchange is None:
            raise OctoValueError("expected preference and exchange")
        text = f"{int(preference)} {exchange}"
    elif rtype == "SRV":
        v = _need(value, "priority", "weight", "port", "target")
        text = f"{int(v['priority'])} {int(v['weight'])} {int(v['port'])} {v['target']}"
    elif rtype == "SSHFP":
        v = _need(value, "algorithm", "fingerprint_type", "fingerprint")
        text = f"{int(v['algorithm'])} {int(v['fingerprint_type'])} {v['fingerprint']}"
    elif rtype == "TLSA":
        v = _need(value, "certificate_usage", "selector", "matching_type",
                  "certificate_association_data")  # fmt: skip
        text = (
            f"{int(v['certificate_usage'])} {int(v['selector'])} {int(v['matching_type'])} "
            f"{v['certificate_association_data']}"
        )
    elif rtype == "DS":
        v = _need(value)
        if "public_key" in v or "flags" in v:  # octoDNS's deprecated field names
            v = {"key_tag": v.get("flags"), "algorithm": v.get("protocol"),
                 "digest_type": v.get("algorithm"), "digest": v.get("public_key")}  # fmt: skip
        v = _need(v, "key_tag", "algorithm", "digest_type", "digest")
        text = f"{int(v['key_tag'])} {int(v['algorithm'])} {int(v['digest_type'])} {v['digest']}"
    elif rtype == "URI":
        v = _need(value, "priority", "weight", "target")
        target = str(v["target"]).replace("\\", "\\\\").replace('"', '\\"')
        text = f'{int(v["priority"])} {int(v["weight"])} "{target}"'
    elif rtype == "LOC":
        v = _need(value, "lat_degrees", "lat_minutes", "lat_seconds", "lat_direction",
                  "long_degrees", "long_minutes", "long_seconds", "long_direction",
                  "altitude", "size", "precision_horz", "precision_vert")  # fmt: skip
        text = (
            f"{v['lat_degrees']} {v['lat_minutes']} {v['lat_seconds']} {v['lat_direction']} "
            f"{v['long_degrees']} {v['long_minutes']} {v['long_seconds']} "
            f"{v['long_direction']} {v['altitude']}m {v['size']}m {v['precision_horz']}m "
            f"{v['precision_vert']}m"
        )
    elif rtype in ("SVCB", "HTTPS"):
        v = _need(value, "svcpriority", "targetname")
        params = []
        for key, param in (v.get("svcparams") or {}).items():
            if param is None:
                params.append(str(key))
            elif isinstance(param, list):
                params.append(f"{key}={','.join(map(str, param))}")
            else:
                params.append(f"{key}={param}")
        text = " ".join([str(int(v["svcpriority"])), str(v["targetname"]), *params])
    else:
        text = str(value)  # a type octoDNS leaves to plugins: take the value as rdata text
    return dns.rdata.from_text(IN, rdtype, text, origin=origin, relativize=False)


def _txt_value(rdata: dns.rdata.Rdata) -> tuple[str | None, str | None]:
    strings = rdata.strings  # type: ignore[attr-defined]
    data = b"".join(strings)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None, "it is not ASCII, which octoDNS does not accept"
    if not text.isprintable() or "\\" in text:
        return None, "it holds control characters or backslashes that octoDNS would change"
    note = None
    if any(len(s) != 255 for s in strings[:-1]):
        note = "its strings are joined into one value (octoDNS splits at 255 octets)"
    return text.replace(";", "\\;"), note


def rdata_to_octodns(rdata: dns.rdata.Rdata) -> tuple[object | None, str | None]:
    """(octoDNS value, None) or (None, why it cannot be exported); a note may come with a value."""
    rtype = T.to_text(rdata.rdtype)
    r = rdata
    if rtype in ("TXT", "SPF"):
        value, note = _txt_value(rdata)
        return value, note
    if rtype in ("A", "AAAA"):
        return r.address, None  # type: ignore[attr-defined]
    if rtype in ("NS", "CNAME", "DNAME", "PTR"):
        return r.target.to_text(), None  # type: ignore[attr-defined]
    if rtype == "MX":
        return {"exchange": r.exchange.to_text(), "preference": r.preference}, None  # type: ignore[attr-defined]
    if rtype == "SRV":
        return {"port": r.port, "priority": r.priority, "target": r.target.to_text(),  # type: ignore[attr-defined]
                "weight": r.weight}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "CAA":
        try:
            return {"flags": r.flags, "tag": r.tag.decode("ascii"),  # type: ignore[attr-defined]
                    "value": r.value.decode("ascii")}, None  # type: ignore[attr-defined]  # fmt: skip
        except UnicodeDecodeError:
            return None, "its value is not ASCII"
    if rtype == "SSHFP":
        return {"algorithm": r.algorithm, "fingerprint": r.fingerprint.hex(),  # type: ignore[attr-defined]
                "fingerprint_type": r.fp_type}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "TLSA":
        return {"certificate_association_data": r.cert.hex(),  # type: ignore[attr-defined]
                "certificate_usage": r.usage, "matching_type": r.mtype,  # type: ignore[attr-defined]
                "selector": r.selector}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "DS":
        return {"algorithm": int(r.algorithm), "digest": r.digest.hex().upper(),  # type: ignore[attr-defined]
                "digest_type": r.digest_type, "key_tag": r.key_tag}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "NAPTR":
        try:
            return {"flags": r.flags.decode(), "order": r.order,  # type: ignore[attr-defined]
                    "preference": r.preference, "regexp": r.regexp.decode(),  # type: ignore[attr-defined]
                    "replacement": r.replacement.to_text(),  # type: ignore[attr-defined]
                    "service": r.service.decode()}, None  # type: ignore[attr-defined]  # fmt: skip
        except UnicodeDecodeError:
            return None, "its strings are not ASCII"
    if rtype == "URI":
        return {"priority": r.priority, "target": r.target.decode(),  # type: ignore[attr-defined]
                "weight": r.weight}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "LOC":
        parts = rdata.to_text().replace("m", "").split()
        keys = ("lat_degrees", "lat_minutes", "lat_seconds", "lat_direction", "long_degrees",
                "long_minutes", "long_seconds", "long_direction", "altitude", "size",
                "precision_horz", "precision_vert")  # fmt: skip
        if len(parts) != len(keys):
            return None, "its text form is not the full LOC form octoDNS needs"
        value: dict[str, object] = {}
        for key, part in zip(keys, parts, strict=True):
            if key.endswith("direction"):
                value[key] = part
            elif key.endswith(("degrees", "minutes")):
                value[key] = int(part)
            else:
                value[key] = float(part)
        return value, None
    if rtype in ("SVCB", "HTTPS"):
        tokens = rdata.to_text().split()
        params: dict[str, object] = {}
        for token in tokens[2:]:
            key, eq, param = token.partition("=")
            param = param.strip('"')
            if not eq:
                params[key] = None
            elif key in _SVCB_LISTS:
                params[key] = param.split(",")
            else:
                params[key] = param
        value = {"svcpriority": int(tokens[0]), "targetname": tokens[1]}
        if params:
            value["svcparams"] = params
        return value, None
    if rtype == "OPENPGPKEY":
        return rdata.to_text().replace(" ", ""), None
    return None, f"octoDNS has no {rtype} records"
