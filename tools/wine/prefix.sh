#!/usr/bin/env bash
# Makes the Wine prefix the Windows tests run in (target/wine-prefix, or $WINEPREFIX): a new
# prefix, plus the bcryptprimitives.dll stand-in that Wine 8 lacks (see bcryptprimitives.c).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export WINEPREFIX="${WINEPREFIX:-$here/../../target/wine-prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
mkdir -p "$WINEPREFIX"
# wineboot makes the prefix; Wine 8's 64-bit-only package warns about the missing 32-bit
# loader and goes on.
"$wine" wineboot --init >/dev/null 2>&1 || true
system32="$WINEPREFIX/drive_c/windows/system32"
[ -d "$system32" ] || { echo "prefix.sh: wineboot made no $system32" >&2; exit 1; }
x86_64-w64-mingw32-gcc -O2 -shared -o "$system32/bcryptprimitives.dll" \
  "$here/bcryptprimitives.c" "$here/bcryptprimitives.def" -lbcrypt
echo "prefix.sh: Wine prefix ready at $WINEPREFIX" >&2
