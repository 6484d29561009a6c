#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the name servers the
# end-to-end tests run (Debian packages) and zonesmith itself, then runs
# ruff and pytest. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(bind9 bind9-utils nsd knot knot-dnsutils knot-dnssecutils unbound dnsutils openssh-server)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
python3 -m ruff check src tests bench
python3 -m pytest -q "$@"
