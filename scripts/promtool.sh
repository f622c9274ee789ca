#!/bin/sh
# SPDX-License-Identifier: MIT
# Put Debian's promtool (from the prometheus package) at $1 without
# installing the package: the package would also install and start a
# Prometheus daemon, and the tests only need `promtool check metrics`.
# Idempotent; exits 0 without a promtool if the package cannot be fetched
# (the metrics tests then print a skip reason and parse strictly).
set -u
case $1 in /*) out=$1 ;; *) out=$(pwd)/$1 ;; esac
[ -x "$out" ] && exit 0
tmp=$(mktemp -d) || exit 0
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 0
if ! apt-get download -qq prometheus >/dev/null 2>&1; then
	apt-get update -qq >/dev/null 2>&1
	apt-get download -qq prometheus >/dev/null 2>&1 || {
		echo "promtool: could not download Debian's prometheus package" >&2
		exit 0
	}
fi
dpkg-deb -x prometheus_*.deb x && mkdir -p "$(dirname "$out")" &&
	cp x/usr/bin/promtool "$out" && echo "promtool: $out" >&2
exit 0
