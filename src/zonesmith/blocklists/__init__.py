"""Resolver blocklists by step: parse, compile, store, fetch, update.

parse and compiled are values the compile stage names; store, fetch and
update read and write the site's blocklist cache (see docs/architecture.md).
"""
