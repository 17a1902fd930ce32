#!/usr/bin/env bash
# Debian packages the tests use as independent peers: Chromium (browser WebRTC),
# coturn (turnutils_* clients and turnserver for side-by-side benchmarks), iproute2 (netns),
# openssl (DTLS peer). Installs only what is missing; needs root.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v turnutils_uclient >/dev/null 2>&1 || need+=(coturn)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# coturn's package starts no daemon unless enabled; make sure none holds our test ports.
if command -v systemctl >/dev/null 2>&1; then systemctl stop coturn >/dev/null 2>&1 || true; fi
pkill -x turnserver >/dev/null 2>&1 || true
echo "system deps ok: $(chromium --version 2>/dev/null | head -1); $(turnserver --version 2>/dev/null | head -1 || true)"
