"""Names that become files, folders or configuration text are checked when the site is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sites import BASE_CONFIG, write_site, zonesmith

from zonesmith.pipeline import check_site

NS_SET = "sets:\n  ns: {'@': [NS ns1.example.com.]}\n"


def found(root: Path) -> list[tuple[str, int, int, str]]:
    """(file name, line, column, rule) of every error check reports."""
    _, diagnostics = check_site(root)
    return [
        (Path(d.position.path).name, d.position.line, d.position.column, d.rule)
        for d in diagnostics
        if d.is_error
    ]


def site(tmp_path: Path, declarations: str, zone: str = "ns1: A 192.0.2.1\n") -> Path:
    config = BASE_CONFIG + NS_SET + declarations
    if "zones:" not in declarations:
        config += "zones:\n  example.com: {include: [ns]}\n"
    return write_site(
        tmp_path,
        config,
        {"example.com.yaml": zone},
        files={"secrets/k.key": "vQ7oGNcjhc59q5c+JOsfgpIXXd0MiO7Mf85u7TADAXw=\n"},
    )


SERVER = "{software: nsd, role: primary, address: 127.0.0.1, path: /srv/dns/x}"


@pytest.mark.parametrize(
    "declaration",
    [
        "servers:\n  {name}: " + SERVER + "\n",
        "views:\n  {name}: {{clients: [any]}}\n",
        "keys:\n  {name}: {{secret-file: secrets/k.key}}\n",
        "blocklists:\n  {name}: {{sources: [lists/a.txt]}}\n",
    ],
    ids=["server", "view", "key", "blocklist"],
)
@pytest.mark.parametrize(
    "name",
    [
        "'../../../../etc/nsd'",
        "/etc/nsd",
        '"k\\n    provide-xfr: 0.0.0.0/0 NOKEY"',
        ".hidden",
        "'a b'",
        "x" * 64,
        "'a;b'",
        '"a\\"b"',
    ],
)
def test_an_identifier_that_is_no_safe_file_name_is_one_error_at_its_key(
    tmp_path: Path, declaration: str, name: str
) -> None:
    root = site(tmp_path, declaration.replace("{name}", name).replace("{{", "{").replace("}}", "}"))
    lines = (root / "zonesmith.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith(f"  {name[:3]}"))
    assert [d for d in found(root) if d[3] == "bad-identifier"] == [
        ("zonesmith.yaml", line, 3, "bad-identifier")
    ]


@pytest.mark.parametrize("name", ["ns-1", "a_b.c", "x" * 63, "ns1.example.com."])
def test_an_identifier_of_letters_digits_and_dots_is_accepted(tmp_path: Path, name: str) -> None:
    root = site(
        tmp_path,
        f"keys:\n  {name}: {{secret-file: secrets/k.key}}\n"
        f"views:\n  {name}: {{clients: [any]}}\n"
        f"servers:\n  {name}: {SERVER}\n",
    )
    assert not [d for d in found(root) if d[3] in ("bad-identifier", "bad-name")]


def test_a_key_name_with_a_line_end_is_refused_before_any_configuration_is_written(
    tmp_path: Path,
) -> None:
    root = site(
        tmp_path,
        'keys:\n  "k\\n    provide-xfr: 0.0.0.0/0 NOKEY": {secret-file: secrets/k.key}\n'
        "servers:\n  ns1: {software: nsd, role: primary, address: 127.0.0.1, path: /srv/ns1}\n",
    )
    run = zonesmith("build", root, "-o", tmp_path / "out", "--no-server-checks")
    assert run.returncode == 1
    assert (
        "zonesmith.yaml:7:3: error: [bad-identifier] a key name 'k\\n    provide-xfr" in run.stdout
    )
    assert "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "zone",
    [
        '"exa\\"mple.com"',
        "'exa mple.com'",
        "'a;b.com'",
        "'a{b}.com'",
        "'a\\\\b.com'",
        '"a\\nb.com"',
        '"a\\0b.com"',
        "a$b.com",
    ],
)
def test_a_zone_name_no_configuration_can_carry_is_refused(tmp_path: Path, zone: str) -> None:
    root = site(tmp_path, f"zones:\n  {zone}: {{include: [ns]}}\n")
    assert ("zonesmith.yaml", 7, 3, "bad-name") in found(root)


@pytest.mark.parametrize(
    "zone", ["0/25.2.0.192.in-addr.arpa", "_tcp.example.org", "xn--bcher-kva.de"]
)
def test_zone_names_servers_accept_stay_accepted(tmp_path: Path, zone: str) -> None:
    root = site(tmp_path, f"zones:\n  {zone}: {{include: [ns]}}\n")
    assert not [d for d in found(root) if d[3] == "bad-name"]


def test_a_catalog_name_with_a_space_is_refused(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        "servers:\n  ns1: {software: bind, role: primary, address: 127.0.0.1, path: /srv/ns1,\n"
        "        catalog: 'cat alog.example.com.'}\n",
    )
    assert ("zonesmith.yaml", 8, 18, "bad-name") in found(root)


@pytest.mark.parametrize(
    "contact",
    [
        "'host master@example.com'",
        '"a\\"b@example.com"',
        '"a\\nb@example.com"',
        "'a;b@example.com'",
    ],
)
def test_a_contact_with_quotes_spaces_or_line_ends_is_refused(tmp_path: Path, contact: str) -> None:
    config = BASE_CONFIG.replace("hostmaster@example.com", contact)
    root = write_site(
        tmp_path,
        config + NS_SET + "zones:\n  example.com: {include: [ns]}\n",
        {"example.com.yaml": "ns1: A 192.0.2.1\n"},
    )
    errors = found(root)
    assert [e for e in errors if e[0] == "zonesmith.yaml" and e[1] == 3] == [
        ("zonesmith.yaml", 3, errors[0][2], "bad-name")
    ]


@pytest.mark.parametrize(
    "owner", ['"a\\"b"', "'a b'", '"a\\nb"', '"a\\tb"', "'a;b'", "'a{b'", "'a\\\\b'", '"a\\0b"']
)
def test_an_owner_with_quotes_spaces_or_line_ends_is_refused(tmp_path: Path, owner: str) -> None:
    root = site(tmp_path, "", f"ns1: A 192.0.2.1\n{owner}: A 192.0.2.2\n")
    assert ("example.com.yaml", 2, 1, "bad-name") in found(root)


@pytest.mark.parametrize("owner", ["_dmarc", "'*.dev'", "a-b.c_d", "'@'"])
def test_usual_owners_stay_accepted(tmp_path: Path, owner: str) -> None:
    root = site(tmp_path, "", f"ns1: A 192.0.2.1\n{owner}: TXT x\n")
    assert found(root) == []


def test_rdata_larger_than_a_message_is_refused_and_a_large_one_accepted(tmp_path: Path) -> None:
    big, fits = "x" * 70000, "y" * 60000
    root = site(tmp_path, "", f'ns1: A 192.0.2.1\nbig: TXT "{big}"\nfits: TXT "{fits}"\n')
    assert found(root) == [("example.com.yaml", 2, 10, "bad-rdata")]


@pytest.mark.parametrize("path", ["'/srv/a\"b'", "'/srv/a b'", "srv/relative", '"/srv/a\\nb"'])
def test_a_server_path_no_configuration_can_carry_is_refused(tmp_path: Path, path: str) -> None:
    root = site(
        tmp_path,
        f"servers:\n  ns1: {{software: nsd, role: primary, address: 127.0.0.1, path: {path}}}\n",
    )
    assert [e for e in found(root) if e[3] == "bad-value"] == [
        ("zonesmith.yaml", 7, 65, "bad-value")
    ]


def test_a_master_file_owner_with_an_escaped_space_or_quote_is_refused(tmp_path: Path) -> None:
    root = write_site(
        tmp_path,
        BASE_CONFIG + "zones:\n  example.com: {}\n",
        {
            "example.com.zone": (
                '@ NS ns1\nns1 A 192.0.2.1\na\\032b A 192.0.2.2\nx\\"y TXT y\n'
                "ok\\.dot TXT z\n_dmarc TXT v\n"
            )
        },
    )
    assert found(root) == [
        ("example.com.zone", 3, 1, "bad-name"),
        ("example.com.zone", 4, 1, "bad-name"),
    ]
