"""The pipeline behind ``check`` and ``build``: load, validate, compile, render, check, write.

load → validate → compile → render (drivers) → server checkers → swap in.
Nothing is written to the output when any stage reports an error, and the
output tree is replaced in one step, so after any crash it is the old tree
or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zonesmith.compile.fleet import ServerBuild, compile_fleet
from zonesmith.compile.live_keys import KeyState, with_live_ds
from zonesmith.compile.serials import SerialState
from zonesmith.compile.zones import (
    BodyStage,
    CompiledSite,
    ZoneBody,
    body_digest,
    compile_site,
    render_body,
    soa_fields,
    zone_body,
)
from zonesmith.diagnostics import Diagnostic, SiteError, error, sort_diagnostics
from zonesmith.drivers import OutputFile, Unquotable, driver_for, skipped_checks
from zonesmith.drivers.nftables import render_nftables
from zonesmith.model import SOFTWARES, Site, Zone
from zonesmith.output.cache import ZoneCache
from zonesmith.output.memo import (
    Rendered,
    ReplayedFileMissing,
    WrittenFile,
    keep_memo,
    kept_fingerprint,
    replay,
    replay_key,
    take_memo,
)
from zonesmith.output.tree import (
    checked_output,
    locked,
    locked_folders,
    make_spare,
    read_manifest,
    staging_dir,
    swap_in,
    write_tree,
)
from zonesmith.own_files import make_folders, write_atomically
from zonesmith.rules.blocklists import blocklist_entries
from zonesmith.rules.facts import OutsideAnswers, SiteFacts
from zonesmith.rules.registry import SiteRulesMemo, ZoneMemo, validate
from zonesmith.rules.switches import sift
from zonesmith.site.control_secrets import read_control_secrets
from zonesmith.site.files import display_path, is_site_file, os_failure
from zonesmith.site.loader import load_site
from zonesmith.site.secrets import read_secret, secret_problem

if TYPE_CHECKING:
    from zonesmith.blocklists.compiled import CompiledBlocklist
    from zonesmith.compile.serials import SerialState
    from zonesmith.lookups import Online


@dataclass
class CheckedSite:
    """A site loaded and validated: every problem, sorted, and the findings its
    switches dropped (``rules:``, see zonesmith.rules.switches), sorted."""

    site: Site
    diagnostics: list[Diagnostic]
    switched_off: list[Diagnostic] = field(default_factory=list)
    #: what DNS answered for names outside the site (check --online), else None
    outside: OutsideAnswers | None = None


def check_site(
    root: Path, cache: ZoneCache | None = None, keys: KeyState | None = None
) -> tuple[Site, list[Diagnostic]]:
    """Load and validate: every problem of the site, sorted (see check_site_in_full)."""
    checked = check_site_in_full(root, cache, keys)
    return checked.site, checked.diagnostics


def check_site_in_full(
    root: Path,
    cache: ZoneCache | None = None,
    keys: KeyState | None = None,
    online: Online | None = None,
) -> CheckedSite:
    """Load and validate: every problem of the site, and the findings switched off.

    With a ``cache`` (see zonesmith.output.cache), unchanged zones are not read or
    checked again, and what this run learnt is kept for the next. The zone
    rules' findings are kept whole: switches drop them after, so a switch
    changed since counts as on a fresh run. The parents of signed zones get
    their DS from the key state (``keys``, else the site's ``zonesmith.keys``;
    see zonesmith.compile.live_keys.with_live_ds). With ``online``, names outside the site
    that the mail rules follow are looked up first (see zonesmith.lookups).
    """
    site, diagnostics = load_site(root, cache)
    switched_off: list[Diagnostic] = []
    facts = None
    if not any(d.is_error and d.rule in ("no-site",) for d in diagnostics):
        try:
            keys = keys if keys is not None else KeyState.load(root)
        except SiteError as problem:
            diagnostics += problem.diagnostics
            keys = KeyState(Path(root))
        site = with_live_ds(site, keys)
        memo = _zone_rules_memo(site, cache) if cache is not None else None
        site_memo = _site_rules_memo(site, cache) if cache is not None else None
        facts = gather_facts(site, online)
        sifted = sift(site, validate(site, facts, memo, site_memo))
        diagnostics += sifted.kept + sifted.problems
        switched_off = sort_diagnostics(sifted.switched_off)
    outside = facts.outside if facts is not None else None
    return CheckedSite(site, sort_diagnostics(diagnostics), switched_off, outside)


def _zone_rules_memo(site: Site, cache: ZoneCache) -> ZoneMemo:
    """The zone rules' findings kept in the cache: an unchanged zone is not checked again."""
    implicit = site.implicit_view

    def memo(zone: Zone, view: str, work: Callable[[], list[Diagnostic]]) -> list[Diagnostic]:
        found = cache.rule_diagnostics(zone, view, implicit)
        if found is None:
            found = work()
            cache.keep_rule_diagnostics(zone, view, implicit, found)
        return found

    return memo


def _site_rules_memo(site: Site, cache: ZoneCache) -> SiteRulesMemo:
    """The site rules' findings kept in the cache: a site whose declarations and zones are
    all as the last check saw them is not checked across its zones again."""

    def memo(part: str, work: Callable[[], list[Diagnostic]]) -> list[Diagnostic]:
        found = cache.site_findings(site, part)
        if found is None:
            found = work()
            cache.keep_site_findings(site, part, found)
        return found

    return memo


def _body_stage(cache: ZoneCache | None) -> BodyStage:
    """The compile stage's zone bodies, with their digests kept in the cache if there is
    one: an unchanged zone is not rendered, nor its unchanged content hashed, again."""
    if cache is None:
        return zone_body

    def body(site: Site, zone: Zone, view: str) -> ZoneBody:
        if zone.reverse_of:  # its PTRs come from other zones, which its fingerprint does not cover
            return zone_body(site, zone, view)
        kept = cache.body(zone, view)
        if kept is None:
            chunks, _ = render_body(site, zone, view)
            cache.keep_body(zone, view, chunks)
        else:
            chunks = [kept]
        fields = soa_fields(site, zone)
        digest = cache.zone_digest(zone, view, fields)
        if digest is None:
            digest = body_digest(fields, chunks)
            cache.keep_zone_digest(zone, view, fields, digest)
        return ZoneBody(chunks, digest)

    return body


def gather_facts(site: Site, online: Online | None = None) -> SiteFacts:
    """What the rules judge besides the model: secrets read, files found, sources
    fetched, what each server software can do, and with ``online`` what DNS answers
    for the names outside the site that the mail rules follow."""
    entries = list(blocklist_entries(site))
    missing = frozenset(
        entry
        for _, _, _, entry in entries
        if "://" not in entry and not is_site_file(site.root, entry)
    )
    unfetched: frozenset[str] = frozenset()
    used = {ref.name for server in site.servers for ref in server.blocklists}
    if used:  # (without importing the blocklists store otherwise)
        from zonesmith.blocklists.store import SourceCache, cache_root, is_url

        cache = SourceCache(cache_root(site))
        unfetched = frozenset(
            entry
            for name, kind, _, entry in entries
            if name in used and kind == "source" and is_url(entry) and cache.meta(entry) is None
        )
    capabilities = {
        software: driver.capabilities
        for software in {server.software for server in site.servers}
        for driver in [driver_for(software)]
        if driver is not None
    }
    problems = {key: problem for key in site.keys if (problem := secret_problem(site.root, key))}
    outside = None
    if online is not None:  # (without importing the resolver otherwise)
        from zonesmith.lookups import look_up_outside

        outside = look_up_outside(site, online)
    return SiteFacts(problems, missing, unfetched, capabilities, outside)


def read_secrets(site: Site) -> dict[str, str]:
    """The secret of every TSIG key (the rules made sure each can be read)."""
    return {key.name: read_secret(site.root, key) for key in site.keys}


@dataclass
class BuildResult:
    out: Path
    servers: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: (checker, server) of every server check not run: the checker is not installed
    skipped_checks: list[tuple[str, str]] = field(default_factory=list)
    #: the rules' findings the site's switches dropped
    switched_off: list[Diagnostic] = field(default_factory=list)


def build_site(
    root: Path,
    out: Path,
    *,
    server_checks: bool = True,
    cache: ZoneCache | None = None,
    online: Online | None = None,
) -> BuildResult:
    """Check, compile, render and write the site's output tree.

    Raises SiteError (with every diagnostic) when anything is wrong; the
    output tree is then left as it was, and so is the serial state unless
    only the swap failed (see _write_state). A failure of the operating
    system is an error naming the path and the cause.
    """
    checked = check_site_in_full(root, cache, online=online)
    site, diagnostics = checked.site, checked.diagnostics
    if any(d.is_error for d in diagnostics):
        if cache is not None:
            cache.save(site.zones, collect=False)
        raise SiteError(diagnostics)
    secrets = read_secrets(site) | read_control_secrets(site)
    lists = _resolver_blocklists(site)
    result = BuildResult(out, [server.name for server in site.servers])
    result.switched_off = checked.switched_off
    out = checked_output(out)
    try:
        # Builds into one output, and builds of one site, take turns from
        # reading the serial state to the swap: two builds at once could give
        # one serial to two contents.
        with locked_folders(out.parent, Path(site.root)):
            _build_locked(site, out, secrets, lists, server_checks, cache, diagnostics, result)
    except OSError as exc:
        raise SiteError([os_failure(exc, "write the output", out)]) from None
    result.diagnostics = sort_diagnostics(diagnostics)
    return result


def _build_locked(
    site: Site,
    out: Path,
    secrets: dict[str, str],
    lists: dict[str, tuple[CompiledBlocklist, ...]],
    server_checks: bool,
    cache: ZoneCache | None,
    diagnostics: list[Diagnostic],
    result: BuildResult,
) -> None:
    """Render, write, check and swap in the output tree, holding the output's lock;
    the server checkers' diagnostics are added to ``diagnostics``, the checks
    skipped to ``result``.
    """
    staging, is_spare = staging_dir(out, cache)
    # Builds of one output from one site share its spare tree.
    with locked(staging.with_suffix(".out")) if is_spare else contextlib.nullcontext():
        if is_spare and (staging.is_symlink() or not staging.is_dir()):
            staging.unlink(missing_ok=True)  # a file or link where the spare belongs
            make_folders(staging)
        # Server checks need every server's build: they take a full render.
        replayable = is_spare and not server_checks
        memo_path = staging.with_suffix(".memo")
        memo = take_memo(
            memo_path, replay_key(cache, secrets, lists, site.live_ds) if replayable else None
        )
        try:
            rendered = replay(site, _body_stage(cache), memo) if memo is not None else None
            if rendered is None:
                rendered = _render(site, secrets, lists, cache)
            if cache is not None:
                cache.save(site.zones, collect=True)
            written, before, before_at = read_manifest(out)
            try:
                recorded = write_tree(staging, rendered.files, out, before, before_at)
            except ReplayedFileMissing:  # a file replayed from the last build is in neither tree
                rendered = _render(site, secrets, lists, cache)
                recorded = write_tree(staging, rendered.files, out, before, before_at)
            if server_checks:
                for driver, build in rendered.checks:
                    display = display_path(out / build.server.name)
                    # Absolute: the checkers run elsewhere than the working directory.
                    staged = (staging / build.server.name).absolute()
                    diagnostics += driver.check(build, staged, display)
                    result.skipped_checks += skipped_checks(driver, build)
            if any(d.is_error for d in diagnostics):
                raise SiteError(sort_diagnostics(diagnostics), result.skipped_checks)
            _write_state(rendered.state)
            swap_in(staging, out, written)
        finally:
            # A spare tree stays, whether it now holds the replaced tree or
            # this build's: the next build brings it up to date instead of
            # writing a whole tree.
            if not is_spare and staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        if is_spare and not staging.exists():
            make_spare(staging, recorded, out)
        # Known once the cache is saved: the declarations of a first build.
        key = replay_key(cache, secrets, lists, site.live_ds) if replayable else None
        if key is not None:
            keep_memo(memo_path, key, rendered, recorded)


def _write_state(state: SerialState) -> None:
    """Record the serials of the new tree, before it goes live.

    A serial is given to a zone's content only once it is recorded: if the
    tree then fails to go live, the old tree (with its older serials) stays,
    and the next build gives the recorded serial to the same content again,
    or a later one to other content. Written after the tree went live, a
    failure would leave served serials unrecorded, and the next build would
    give them to other content, which secondaries never transfer.
    """
    if not (state.changed or not state.path.exists()):
        return
    try:
        write_atomically(state.path, state.text().encode())
    except OSError as exc:
        raise SiteError(
            [os_failure(exc, "write the serial state; the output is left as it was", state.path)]
        ) from None


def _resolver_blocklists(site: Site) -> dict[str, tuple[CompiledBlocklist, ...]]:
    """Every resolver's compiled blocklists, by server name."""
    resolvers = [server for server in site.servers if server.role == "resolver"]
    if not resolvers:
        return {}  # and no blocklists module to import: a rebuild is mostly start-up
    from zonesmith.blocklists.store import compiled_for

    return {server.name: compiled_for(site, server) for server in resolvers}


def render_site(site: Site, state: SerialState, cache: ZoneCache | None = None) -> Rendered:
    """Every server's files of a checked site, compiled with ``state`` (a deploy's),
    written nowhere: deploy sends them to the servers' paths."""
    secrets = read_secrets(site) | read_control_secrets(site)
    return _render(site, secrets, _resolver_blocklists(site), cache, state)


def server_builds(site: Site) -> dict[str, ServerBuild]:
    """What every server of a checked site serves, as the last build compiled it.

    For asking the drivers about a server (its reload commands, its checker
    on the target) without rendering its files; a deploy renders them anyway
    and takes its builds from render_site. Serials are those of the serial
    state, as the build that wrote the output left it.
    """
    secrets = read_secrets(site) | read_control_secrets(site)
    return _fleet(compile_site(site), secrets, _resolver_blocklists(site))


def _fleet(
    compiled: CompiledSite,
    secrets: dict[str, str],
    lists: dict[str, tuple[CompiledBlocklist, ...]],
) -> dict[str, ServerBuild]:
    """Every server's build, each software following catalogs where its driver can."""
    catalog_consumers = {
        software: bool(driver and driver.capabilities.catalog_consumer)
        for software in SOFTWARES
        for driver in [driver_for(software)]
    }
    return compile_fleet(compiled, secrets, catalog_consumers, lists)


def _render(
    site: Site,
    secrets: dict[str, str],
    lists: dict[str, tuple[CompiledBlocklist, ...]],
    cache: ZoneCache | None,
    state: SerialState | None = None,
) -> Rendered:
    """Compile every zone and render every server's files."""
    compiled = compile_site(site, body=_body_stage(cache), state=state)
    builds = _fleet(compiled, secrets, lists)
    files: dict[str, OutputFile | WrittenFile] = {}
    zone_files: dict[tuple[str, str], list[str]] = {}
    checks = []
    for server in site.servers:
        driver = driver_for(server.software)
        # The unsupported-role rule has stopped the build otherwise.
        assert driver is not None and server.role in driver.capabilities.roles
        build = builds[server.name]
        try:
            rendered = driver.render(build, server.path)
        except Unquotable as exc:  # loading refuses such values: a second line of defence
            message = f"server '{server.name}': {exc}; nothing was written"
            raise SiteError([error(server.position, "unquotable-value", message)]) from None
        if server.role != "resolver":
            rendered["nftables.conf"] = OutputFile(render_nftables(build).encode())
        for relative, output in rendered.items():
            path = f"{server.name}/{relative}"
            files[path] = output
            zone = output.zone
            # A site zone's file (a catalog zone's is made from the declarations).
            if zone is not None and compiled.zones.get((zone.view, zone.origin)) is zone:
                zone_files.setdefault((zone.view, zone.origin), []).append(path)
        checks.append((driver, build))
    zones = {key: kept_fingerprint(zone.zone) for key, zone in compiled.zones.items()}
    return Rendered(files, compiled.state, zones, zone_files, checks)
