#!/bin/sh
# promtool.sh - prints the path of Prometheus' promtool, for the tests that
# check metrics and alert rules with it. Taken from Debian's prometheus
# package without installing it (its postinst would start a Prometheus
# server): the .deb is unpacked once into $SF_ROOT_CACHE
# (/var/cache/skyfence-test). Exit 1 if it cannot be had.
set -eu

if command -v promtool >/dev/null 2>&1; then
	command -v promtool
	exit 0
fi
cache=${SF_ROOT_CACHE:-/var/cache/skyfence-test}/prometheus
if [ ! -x "$cache/usr/bin/promtool" ]; then
	mkdir -p "$cache.new"
	(cd "$cache.new" && apt-get download prometheus >/dev/null 2>&1) ||
		{ apt-get update -qq >/dev/null 2>&1 &&
			(cd "$cache.new" && apt-get download prometheus >/dev/null 2>&1); } ||
		{ rm -rf "$cache.new"; exit 1; }
	dpkg-deb -x "$cache.new"/prometheus_*.deb "$cache.new/root"
	rm -rf "$cache"
	mv "$cache.new/root" "$cache"
	rm -rf "$cache.new"
fi
echo "$cache/usr/bin/promtool"
