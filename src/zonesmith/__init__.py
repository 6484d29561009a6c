"""zonesmith: DNS as code for people who run their own name servers."""

__version__ = "0.1.0"

import warnings

# cryptography warns that DSA is deprecated when dnspython loads its DNSSEC
# algorithms; zonesmith never signs with DSA and judges it itself (rule
# deprecated-algorithm), so the warning would only litter every command's output.
warnings.filterwarnings("ignore", message="DSA is deprecated")
