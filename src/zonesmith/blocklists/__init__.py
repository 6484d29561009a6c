"""Resolver blocklists by step: parse, compile, store, fetch, update.

A stage of its own below compile (see docs/architecture.md): parse and
compiled are values the compile stage names; store, fetch and update read
and write the site's blocklist cache, and never call the pipeline.

``zonesmith blocklist update`` fetches every http(s) source of the site's
blocklists with a conditional GET into a cache under the site
(``.zonesmith/cache/blocklists/``, git-ignored), parses every source and
allowlist, and compiles each blocklist into a sorted list of names, stored in
the same cache. ``zonesmith build`` reads the compiled lists through
:func:`zonesmith.blocklists.store.compiled_for` without touching the network.

Parsing accepts the formats found in the wild, line by line and mixed in one
file: hosts files (``0.0.0.0 name``, ``127.0.0.1 name``, several names per
line), plain domain lists, wildcard lists (``*.name``), AdBlock rules
(``||name^``, exceptions ``@@||name^``), dnsmasq (``address=/name/...``,
``local=/name/``, ``server=/name/``) and RPZ zone files. Comments and junk
are skipped and counted, never fatal. Names are lowercased, IDNA-encoded
(IDNA 2008 with UTS 46 mapping, as browsers do), validated and de-duplicated.

A blocked name blocks its subdomains too (an Unbound local zone does), so a
name below another blocked name is dropped. An allowed name, and everything
below it, is never blocked; when it lies below a blocked name it becomes an
exception (a transparent local zone) inside the blocked one.

The hot loop is built for lists of a million names: one
regular expression pulls the common line shapes (already validated) out of
the whole text at C speed, only the remaining lines go through Python code,
and the parent check walks labels with plain string operations and sets.
"""
