#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages that sandpool needs to build, run and test.
# Idempotent: when everything is already there it only runs dpkg-query, which
# takes well under a second.  Run as root (or with sudo available).
set -eu

PKGS="
build-essential pkg-config make gcc
libmicrohttpd-dev libjansson-dev libseccomp-dev libsqlite3-dev libcap-dev
libcurl4-openssl-dev libssl-dev
clang libclang-rt-14-dev
python3 python3-dev python3-numpy python3-pandas python3-matplotlib python3-scipy
python3-openpyxl python3-seaborn python3-sympy python3-pil
python3-setuptools python3-ipython python3-pytest
bubblewrap curl ca-certificates iproute2
"

# make mcp-test needs npm (the MCP conformance suite and SDK, with their
# own Node 22, come from the npm registry); Debian's npm only if none is
# installed (the CI machines bring a newer one).
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
