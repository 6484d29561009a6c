"""Rules on mail records: SPF, DMARC, DKIM, MTA-STS, TLS-RPT and null MX; importing this
package registers them. Names outside the site are never looked up (see ``index``)."""

from zonesmith.rules.mail import dkim, dmarc, policies, spf

__all__ = ["dkim", "dmarc", "policies", "spf"]
