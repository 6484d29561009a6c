"""Rules on mail records: SPF, DMARC, DKIM, MTA-STS, TLS-RPT and null MX; importing this
package registers them. Names outside the site are not looked up here (see ``index``): they
are listed by ``not_checked``, or answered from what ``check --online`` looked up before."""

from zonesmith.rules.mail import dkim, dmarc, policies, spf
from zonesmith.rules.mail.outside import not_checked

__all__ = ["dkim", "dmarc", "not_checked", "policies", "spf"]
