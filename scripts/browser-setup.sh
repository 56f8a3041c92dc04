#!/usr/bin/env bash
# The browser the page's tests drive (test/harness/browser.ts): Debian's chromium, driven by
# playwright-core, which downloads no browser of its own. Idempotent; instant once installed.
# Run by `npm test` (and test:integration) before vitest. A machine without apt (or not root)
# must provide chromium itself, or point SEALED_SECRETS_CHROMIUM at one.
set -euo pipefail
if [ -n "${SEALED_SECRETS_CHROMIUM:-}" ] && [ -x "${SEALED_SECRETS_CHROMIUM}" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "browser-setup: chromium is missing; install Debian's chromium (apt-get install --no-install-recommends chromium) or set SEALED_SECRETS_CHROMIUM" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
