#!/usr/bin/env bash
# Installs every Debian package that building, testing and demoing tlsresume needs.
# Idempotent: packages already present are left alone, so a second run costs one dpkg query.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config g++ clang lld libclang-rt-14-dev
  libssl-dev openssl libtomlplusplus-dev libcli11-dev libhiredis-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real clients and peers used by the integration tests, the demo and the benchmarks
  python3 curl gnutls-bin redis-server nginx-light haproxy gnuplot-nox procps iproute2
  # test_status_page.py: a real browser (headless) runs the admin status page's script
  chromium
  # test_install.py: systemd-analyze verify on the unit, which also opens its man page
  systemd man-db
  # bench/handshake_profile.py: instructions (callgrind) and system calls per handshake
  valgrind strace util-linux
)
# TLS=boringssl (make test TLS=boringssl): the BoringSSL build's library. Debian ships it
# for the Android SDK tools; operators link a BoringSSL or AWS-LC they build themselves.
if [ "${TLS:-openssl}" = boringssl ]; then packages+=(android-libboringssl-dev); fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

# Debian starts the services it installs; our tests start their own on free loopback ports.
# Only a service this run installs is stopped: one installed before (perhaps serving) is
# left alone. Each service with the package that ships it (nginx-light depends on
# nginx-common, which any nginx flavour brings).
declare -A service_package=([nginx]=nginx-common [haproxy]=haproxy [redis-server]=redis-server)
new_services=()
for svc in "${!service_package[@]}"; do
  installed "${service_package[$svc]}" || new_services+=("$svc")
done

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for svc in "${new_services[@]}"; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-deps: done"
