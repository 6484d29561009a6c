"""Reading a site (zonesmith.yaml, zone files, secrets) into the model, with positions."""

from zonesmith.site.loader import load_site

__all__ = ["load_site"]
