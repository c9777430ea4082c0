#!/bin/sh
# report-shot.sh - the README's picture of the report: the first screen
# (1280x800) of the page `skyfencectl report` makes from the demo's lab
# run (scripts/demo.sh --out into a temporary directory), taken by
# Debian's chromium headless, a PNG under 300 KiB. As root (the lab);
# installs chromium if missing; BUILD=DIR as for demo.sh.
#
#   scripts/report-shot.sh [FILE]      (default doc/report.png)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/doc/report.png}
MAX=$((300 * 1024))
if ! command -v chromium >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$top/scripts/demo.sh" --out "$tmp/demo" --prefix sfshot >"$tmp/demo.out" 2>&1 ||
	{ tail -n 20 "$tmp/demo.out" >&2; echo "report-shot.sh: the demo failed" >&2; exit 1; }
# a profile of its own, nothing remembered; no scroll bar in the picture
timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
	--user-data-dir="$tmp/profile" --force-device-scale-factor=1 \
	--window-size=1280,800 --screenshot="$tmp/shot.png" \
	"file://$tmp/demo/skyfence-report.html" >"$tmp/chromium.log" 2>&1 ||
	{ tail -n 5 "$tmp/chromium.log" >&2; echo "report-shot.sh: chromium failed" >&2; exit 1; }
# the PNG's IHDR: width and height, big-endian, at bytes 16 and 20
dims=$(od -An -tu1 -j16 -N8 "$tmp/shot.png" |
	awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 "x" $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }')
size=$(wc -c <"$tmp/shot.png")
if [ "$dims" != 1280x800 ] || [ "$size" -ge $MAX ]; then
	echo "report-shot.sh: the screenshot is $dims, $size bytes: not 1280x800 under $MAX" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$tmp/shot.png" "$out.tmp"
chmod 0644 "$out.tmp"
mv "$out.tmp" "$out"
echo "report-shot.sh: $out, $dims, $size bytes, from the demo's run of $(date -u +%Y-%m-%d)"
