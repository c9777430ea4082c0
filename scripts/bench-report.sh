#!/bin/sh
# bench-report.sh - what `skyfencectl report` costs over a week's audit
# trail (issue 30's scale figure: a synthetic week of 5,000,000 records
# reported in under a minute on one core, peak RSS under 200 MiB).
#
#   scripts/bench-report.sh [-n RECORDS]
#
# sf-mkaudit writes RECORDS records (5,000,000) of a synthetic week
# (--seed 1: the same trail every run; a valid chain, the daemon's record
# layouts, changes, gaps, a restart) as logrotate leaves them after daily
# rotations: audit.log, audit.log.1 ... audit.log.6, the highest the
# oldest. A second copy is compressed as logrotate's compress and
# delaycompress leave it: audit.log and audit.log.1 plain, audit.log.2.gz
# and older gzip -1. Both live in a work directory, removed at the end.
# Then skyfencectl report runs pinned to one core (taskset -c 0) over
#   plain  html   the plain files, --output FILE.html
#   gzip   html   the compressed files, --output FILE.html
#   plain  text   --format text
#   plain  json   --format json
# the files given newest first (the report orders logrotate's names
# itself), --tz Europe/Berlin. Prints each run's wall time, CPU time (user
# + system) and peak RSS (GNU time; without it, python3's getrusage of
# the child), and the output's size. Timing decides nothing here: the
# script fails only if a report does.
#
# BUILD=DIR measures another build's skyfencectl and sf-mkaudit
# (default build/).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
N=5000000
usage() { echo "usage: $0 [-n RECORDS]" >&2; exit 2; }
while getopts "n:" o; do
	case $o in
	n) N=$OPTARG ;;
	*) usage ;;
	esac
done
case $N in '' | *[!0-9]* | 0) usage ;; esac
for t in skyfencectl sf-mkaudit; do
	[ -x "$build/$t" ] || { echo "${0##*/}: $build/$t missing (cmake --build $build)" >&2; exit 1; }
done
command -v taskset >/dev/null || { echo "${0##*/}: taskset missing (util-linux)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-report.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/plain" "$work/gzip"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes_of() { du -cb "$@" | tail -n 1 | cut -f1; }

t0=$(date +%s%N)
"$build/sf-mkaudit" --records "$N" --days 7 --seed 1 \
	--rotate-every $(((N + 6) / 7)) --out "$work/plain/audit.log"
t1=$(date +%s%N)
for f in "$work"/plain/audit.log*; do
	b=${f##*/}
	case $b in
	audit.log | audit.log.1) cp "$f" "$work/gzip/$b" ;;
	*) gzip -1 -c "$f" >"$work/gzip/$b.gz" ;;
	esac
done
t2=$(date +%s%N)
echo "trail: $N records, $(ls "$work/plain" | wc -l) files, $(mib "$(bytes_of "$work"/plain/*)") plain," \
	"$(mib "$(bytes_of "$work"/gzip/*)") with the older ones gzipped" \
	"(made in $(((t1 - t0) / 1000000)) ms, gzipped in $(((t2 - t1) / 1000000)) ms)"

# newest first: the report puts them in order
files() { ls -1 "$work/$1"/audit.log* | sort -V; }

# measure OUT LABEL CMD...: runs CMD on core 0, prints its figures
rc_all=0
measure() {
	out=$1
	label=$2
	shift 2
	rc=0
	if [ -x /usr/bin/time ]; then
		# a failure's "Command exited with ..." comes first
		/usr/bin/time -f '%e %U %S %M' -o "$work/time" taskset -c 0 "$@" || rc=$?
		tail -n 1 "$work/time" >"$work/time.last"
	else
		python3 - "$work/time.last" taskset -c 0 "$@" <<'EOF' || rc=$?
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[2:]).returncode
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%.2f %.2f %.2f %d\n" % (wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
sys.exit(rc)
EOF
	fi
	read -r wall usr sys rss <"$work/time.last"
	if [ "$rc" -ne 0 ]; then
		echo "$label: FAILED (exit $rc)"
		rc_all=1
		return 0
	fi
	awk -v l="$label" -v w="$wall" -v u="$usr" -v s="$sys" -v m="$rss" -v o="$(wc -c <"$out")" \
		'BEGIN { printf "%-12s wall %6.2f s  cpu %6.2f s (user %.2f, sys %.2f)  peak RSS %6.1f MiB  output %.1f KiB\n",
			l, w, u + s, u, s, m / 1024, o / 1024 }'
}

# shellcheck disable=SC2046 # the file names are the work dir's, no blanks
{
	measure "$work/out.html" "plain html" "$build/skyfencectl" report --tz Europe/Berlin \
		--output "$work/out.html" $(files plain)
	measure "$work/gz.html" "gzip html" "$build/skyfencectl" report --tz Europe/Berlin \
		--output "$work/gz.html" $(files gzip)
	measure "$work/out.txt" "plain text" "$build/skyfencectl" report --tz Europe/Berlin \
		--format text --output "$work/out.txt" $(files plain)
	measure "$work/out.json" "plain json" "$build/skyfencectl" report --tz Europe/Berlin \
		--format json --output "$work/out.json" $(files plain)
}
echo "the issue asks: under 60 s on one core, peak RSS under 200 MiB ($N records)"
exit $rc_all
