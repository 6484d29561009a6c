"""zonesmith: DNS as code for people who run their own name servers."""

import warnings

__version__ = "0.1.0"

# dnspython names DSA keys when it loads its DNSSEC algorithms, and recent
# `cryptography` releases warn about DSA on every such import: a user who signs
# with ECDSA would see that warning after every command. zonesmith refuses DSA
# policies itself (rule deprecated-algorithm), so the warning tells nobody anything.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"dns\.dnssecalgs")
