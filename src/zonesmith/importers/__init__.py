"""Importers from foreign formats into a site, and the octoDNS exporter: the public entry points.

- :func:`import_zonefiles`: master files (``zonesmith import zonefile``);
- :func:`import_axfr`: zones transferred from a live server (``zonesmith import axfr``);
- :func:`import_named_conf`: a BIND configuration (``zonesmith import named-conf``), and
  :func:`parse_named_conf`, its parser;
- :func:`import_octodns`: an octoDNS configuration (``zonesmith import octodns``);
- :func:`export_octodns`: a site as octoDNS configuration (``zonesmith export octodns``).

Each importer reads its source into an :class:`~zonesmith.importers.content.ImportedSite`, which
:mod:`zonesmith.importers.site_writer` writes as site files and reads back.
"""

from zonesmith.importers.axfr import import_axfr
from zonesmith.importers.named_conf import import_named_conf
from zonesmith.importers.named_conf_parser import parse_named_conf
from zonesmith.importers.octodns import import_octodns
from zonesmith.importers.octodns_export import export_octodns
from zonesmith.importers.zonefile import import_zonefiles

__all__ = [
    "export_octodns",
    "import_axfr",
    "import_named_conf",
    "import_octodns",
    "import_zonefiles",
    "parse_named_conf",
]
