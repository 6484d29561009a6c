"""zonesmith: DNS as code for people who run their own name servers."""

__version__ = "0.1.0"
