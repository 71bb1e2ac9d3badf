#!/bin/sh
# Renders a shipsim HTML diagram (`shipsim run ... --html FILE`) to a PNG with headless Chromium.
#
#   scripts/screenshot.sh run.html [out.png] [WIDTHxHEIGHT]
#
# Needs Debian's `chromium` package (`apt-get install chromium`); it is not a dependency of the
# build or the tests. The page is self-contained (no network), so the file:// URL is enough.
set -eu

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
    echo "usage: $0 FILE.html [OUT.png] [WIDTHxHEIGHT]" >&2
    exit 2
fi
html=$1
out=${2:-${html%.html}.png}
size=${3:-1400x700}

if [ ! -f "$html" ]; then
    echo "error: no such file: $html" >&2
    exit 2
fi
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "error: chromium not found: install Debian's chromium package (apt-get install chromium)" >&2
    exit 2
fi

abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
# Chromium writes the screenshot relative to its working directory: give it an absolute path.
case $out in
    /*) out_abs=$out ;;
    *) out_abs=$(pwd)/$out ;;
esac

"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" \
    --screenshot="$out_abs" --window-size="$(echo "$size" | tr x ,)" "file://$abs"
echo "wrote $out_abs"
