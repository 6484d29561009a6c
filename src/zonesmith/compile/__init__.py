"""What each server serves in each view: serials, compiled zones, the fleet.

This is where derived data is made (the SOA from the site's defaults, PTR
records of ``reverse-of`` zones) and where serials are chosen. The result is
independent of server software: drivers decide where and how it is written,
but the zone text itself is canonical and shared by every driver, so a
rebuild of an unchanged site is byte-identical.
"""
