"""The POSIX sh scripts a deploy runs on a target, one per step, with their arguments.

Each script takes its inputs as positional arguments (never pasted into its
text) and reads lists from files of one path per line, each path written
``./relative`` so that no tool reads it as an option. Paths never hold a
newline or a backslash (see zonesmith.deploy.install.check_relative). Besides
POSIX sh they need coreutils (``b2sum`` for digests, ``stat -c``) and ``tar``.

State lives under ``PATH/.zonesmith/``: ``lock``, ``installed`` (the manifest:
``b2sum -l 128`` lines of the files zonesmith manages), ``staging/<id>/``,
``releases/<id>/`` and ``journal`` (the staging folder a swap is moving in).
"""

from __future__ import annotations

#: The folder under a server's path holding zonesmith's state there.
STATE = ".zonesmith"


def sh(script: str, *args: str) -> list[str]:
    """The argv running ``script`` with ``sh``, its ``$1``... being ``args``."""
    return ["sh", "-c", script, "zonesmith", *args]


_PRELUDE = 'set -eu\nP=$1\nz="$P/.zonesmith"\n'

#: $2: a name unique to this try, $3: the holder line. Exit 3 and print the
#: holder when the lock is held. A hard link appears whole or not at all.
TAKE_LOCK = (
    _PRELUDE
    + """mkdir -p "$z"
printf '%s\\n' "$3" > "$z/lock.$2"
if ln "$z/lock.$2" "$z/lock" 2>/dev/null; then rm -f "$z/lock.$2"; exit 0; fi
rm -f "$z/lock.$2"
cat "$z/lock" 2>/dev/null || true
exit 3
"""
)

#: $2: the holder line; removes the lock only if it still is that holder's.
RELEASE_LOCK = (
    _PRELUDE
    + """[ -f "$z/lock" ] || exit 0
[ "$(cat "$z/lock")" != "$2" ] || rm -f "$z/lock"
"""
)

BREAK_LOCK = _PRELUDE + 'rm -f "$z/lock"\n'

#: $2: a folder, $3: a manifest listing files under it. Prints the digest lines
#: of those that exist, a line "--", then "MODE ./path" lines for them.
LIST = (
    _PRELUDE
    + """m=$3
[ -f "$m" ] || exit 0
cd "$2"
paths() {
    sed 's/^[0-9a-f]*  //' "$m" | while IFS= read -r f; do
        if [ -f "$f" ]; then printf '%s\\0' "$f"; fi
    done
}
paths | xargs -0 -r b2sum -l 128 --
echo --
paths | xargs -0 -r stat -c '%a %n' --
"""
)

#: $2: path relative to $1. Exit 3 when there is no such file.
READ = _PRELUDE + '[ -f "$P/$2" ] || exit 3\nexec cat -- "$P/$2"\n'

#: Leftover staging folders go, but the one a pending swap is moving in.
_CLEAN_STAGING = """mkdir -p "$z/staging"
pending=
if [ -f "$z/journal" ]; then pending=$(cat "$z/journal"); fi
for d in "$z/staging"/*; do
    if [ -e "$d" ] && [ "$d" != "$pending" ]; then rm -rf -- "$d"; fi
done
"""

#: $2: the staging id, $3: a release folder to take files from (or "").
#: stdin: a tar of the lists (changed, removed, manifest, keep, take) and of
#: tree/ (the new files); files in "keep" come from $1, in "take" from $3.
STAGE = (
    _PRELUDE
    + _CLEAN_STAGING
    + """C="$z/staging/$2"
mkdir "$C"
cd "$C"
tar -x -p --no-same-owner -f -
mkdir -p tree
copy() {
    if [ -s "$C/$2" ]; then
        (cd "$1" && tar -c -f "$C/copy.tar" -T "$C/$2")
        (cd "$C/tree" && tar -x -p --no-same-owner -f "$C/copy.tar")
        rm -f "$C/copy.tar"
    fi
}
copy "$P" keep
if [ -n "$3" ]; then copy "$3" take; fi
"""
)

#: $2: the staged tree, then the command's argv.
IN_FOLDER = 'cd "$1"\nshift\nexec "$@"\n'

#: Finish the swap the journal names: move each changed file in (mtime now,
#: for BIND's "is the file newer" check; the owner of what it replaces),
#: remove the managed files no longer built, put the new manifest in. Each
#: step can run again after an interruption, so a swap killed half-way is
#: finished by this script. $2: seconds to sleep after each move (tests
#: only), or "".
_FINISH = """if [ -f "$z/journal" ]; then
    C=$(cat "$z/journal")
    if [ -d "$C" ]; then
        cd "$C/tree"
        tr '\\n' '\\0' < "$C/changed" | xargs -0 -r touch -c --
        while IFS= read -r f; do
            if [ ! -e "$f" ]; then continue; fi
            d=${f%/*}
            if [ ! -d "$P/$d" ]; then mkdir -p "$P/$d"; fi
            # A server that runs as its own user must still read its files:
            # each keeps the owner of the file it replaces, or of its folder.
            ref="$P/$d"
            if [ -e "$P/$f" ]; then ref="$P/$f"; fi
            chown --reference="$ref" -- "$f" 2>/dev/null || true
            mv -f -- "$f" "$P/$f"
            if [ -n "$2" ]; then sleep "$2"; fi
        done < "$C/changed"
        cd "$P"
        tr '\\n' '\\0' < "$C/removed" | xargs -0 -r rm -f --
        if [ -f "$C/manifest" ]; then mv -f "$C/manifest" "$z/installed"; fi
    fi
    # A swap cut off by a dropped connection may go on running on the host
    # after the next deploy finished it: it must not drop a newer journal.
    if [ "$(cat "$z/journal" 2>/dev/null)" = "$C" ]; then rm -f "$z/journal"; fi
    rm -rf -- "$C"
fi
"""

FINISH = _PRELUDE + _FINISH

#: $2: pause (see _FINISH), $3: the staging folder, $4: a new release id (or
#: "" for none), $5: releases to keep. The release copy is made before the
#: journal names the staging folder: a swap killed before that changed nothing.
SWAP = (
    _PRELUDE
    + _FINISH
    + """mkdir -p "$z/releases"
if [ -n "$4" ]; then
    r="$z/releases/$4"
    mkdir -p "$r.tmp/files"
    touch "$z/installed"
    sed 's/^[0-9a-f]*  //' "$z/installed" | while IFS= read -r f; do
        if [ -f "$P/$f" ]; then printf '%s\\n' "$f"; fi
    done > "$r.tmp/list"
    if [ -s "$r.tmp/list" ]; then
        (cd "$P" && tar -c -f "$r.tmp/files.tar" -T "$r.tmp/list")
        (cd "$r.tmp/files" && tar -x -p --no-same-owner -f "$r.tmp/files.tar")
        rm -f "$r.tmp/files.tar"
    fi
    (cd "$r.tmp/files" && tr '\\n' '\\0' < "$r.tmp/list" | xargs -0 -r b2sum -l 128 --) \\
        > "$r.tmp/manifest"
    rm -f "$r.tmp/list"
    mv "$r.tmp" "$r"
fi
printf '%s\\n' "$3" > "$z/journal.tmp"
mv -f "$z/journal.tmp" "$z/journal"
"""
    + _FINISH
    + """cd "$z/releases"
rm -rf -- ./*.tmp
ls | sort -r | tail -n "+$(($5 + 1))" | while IFS= read -r old; do rm -rf -- "./$old"; done
"""
)

#: Prints "ID DIGEST" per release, DIGEST that of its manifest.
RELEASES = (
    _PRELUDE
    + """[ -d "$z/releases" ] || exit 0
cd "$z/releases"
for r in *; do
    case $r in *.tmp) continue ;; esac
    if [ -f "$r/manifest" ]; then
        printf '%s %s\\n' "$r" "$(b2sum -l 128 < "$r/manifest" | cut -c1-32)"
    fi
done
"""
)

#: Chooses the host's query tool into $tool (exit 127 with one sentence when
#: there is none) and defines ``keyfile FILE NAME ALGORITHM SECRET``, writing
#: a TSIG key in that tool's format.
_TOOL = """if command -v dig >/dev/null 2>&1; then tool=dig
elif command -v kdig >/dev/null 2>&1; then tool=kdig
else
  echo "the host has neither dig (bind9-dnsutils) nor kdig (knot-dnsutils)" >&2
  exit 127
fi
keyfile() {
  if [ "$tool" = dig ]; then
    printf 'key "%s" {\\n\\talgorithm %s;\\n\\tsecret "%s";\\n};\\n' "$2" "$3" "$4" > "$1"
  else
    printf '%s:%s:%s\\n' "$3" "$2" "$4" > "$1"
  fi
}
"""

#: A zone by AXFR on the server's host, signed with a key given on standard input
#: (never on a command line), kept in a 0600 file while dig or kdig runs.
#: $2 address, $3 port, $4 zone, $5 source address, $6 key name, $7 algorithm,
#: $8 (optional) another type to ask for instead, over TCP with its signatures
#: (DNSKEY); the secret on standard input. Exit 127 when the host has neither tool.
AXFR = (
    _PRELUDE
    + _TOOL
    + """IFS= read -r secret || true
umask 077
mkdir -p "$z"
f="$z/deploy-key.$$"
trap 'rm -f "$f"' EXIT
keyfile "$f" "$6" "$7" "$secret"
t=${8:-AXFR}
o=
if [ "$t" != AXFR ]; then o="+tcp +dnssec +norecurse"; fi
if [ "$tool" = dig ]; then
  dig -k "$f" -b "$5" -p "$3" "@$2" -t "$t" -q "$4" +noall +answer +tries=1 +timeout=10 $o
else
  kdig -k "$f" -b "$5" -p "$3" "@$2" -t "$t" -q "$4" +noall +answer +retry=0 +timeout=10 $o
fi
"""
)

#: Questions with their signatures (DO set, over TCP, no recursion) on the server's host,
#: in one run of dig or kdig. $2 address, $3 port, then the questions as the tool's
#: arguments (``-q NAME -t TYPE``...). Exit 127 when the host has neither tool.
ASK = (
    _PRELUDE
    + _TOOL
    + """a=$2 port=$3
shift 3
if [ "$tool" = dig ]; then o="+time=3 +tries=1"; else o="+timeout=3 +retry=0"; fi
exec "$tool" +dnssec +norecurse +tcp +noall +answer $o -p "$port" "@$a" "$@"
"""
)

#: SOA questions on the server's host, in one run of dig or kdig per TSIG key.
#: $2 address, $3 port, $4 seconds to wait for an answer, $5 tries. Standard
#: input: groups, each a line "KEYNAME ALGORITHM SECRET" ("- - -": unsigned),
#: then one zone a line, then an empty line; keys live in 0600 files only while
#: the tool runs. Prints ";; zonesmith group N" before each group's headers and
#: answers; exit 9 when the server does not answer the first question at all.
SOA = (
    _PRELUDE
    + _TOOL
    + """a=$2 port=$3 t=$4 tries=$5
umask 077
mkdir -p "$z"
d="$z/soa.$$"
mkdir "$d"
trap 'rm -rf -- "$d"' EXIT
ask() {
  g=$1
  shift
  if [ "$tool" = dig ]; then
    set -- +noall +comments +answer +norecurse "+tries=$tries" "+timeout=$t" "$@"
  else
    set -- +noall +header +answer +norecurse "+retry=$((tries - 1))" "+timeout=$t" "$@"
  fi
  if [ -f "$d/$g.key" ]; then set -- -k "$d/$g.key" "$@"; fi
  "$tool" -p "$port" "@$a" "$@"
}
n=0
while IFS=' ' read -r name alg secret; do
  n=$((n + 1))
  if [ "$name" != - ]; then keyfile "$d/$n.key" "$name" "$alg" "$secret"; fi
  : > "$d/$n.q"
  while IFS= read -r q && [ -n "$q" ]; do printf '%s\n' "$q" >> "$d/$n.q"; done
done
[ "$n" -gt 0 ] || exit 0
# A server that does not answer one question is down: not asked the rest.
IFS= read -r first < "$d/1.q" || true
out=$(ask 1 "$first" SOA 2>&1 || true)
case $out in *status:*) ;; *) exit 9 ;; esac
i=0
while [ "$i" -lt "$n" ]; do
  i=$((i + 1))
  set --
  while IFS= read -r q; do set -- "$@" "$q" SOA; done < "$d/$i.q"
  printf ';; zonesmith group %s\n' "$i"
  if [ "$#" -gt 0 ]; then ask "$i" "$@" || true; fi
done
"""
)
