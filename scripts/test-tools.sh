#!/usr/bin/env bash
# Programs the tests drive as clients, from Debian's packages, installed once (idempotent; instant
# when present). Run by `npm test` (and test:integration) before vitest:
#   chromium  the page's tests (test/harness/browser.ts), driven by playwright-core, which
#             downloads no browser of its own (SEALED_SECRETS_CHROMIUM may point at another one)
#   zsh, fish the completion specs (cli/completion.test.ts) run kubeseal's scripts in real shells
# A machine without apt (or not root) must provide them itself.
set -euo pipefail
missing=()
if ! { [ -n "${SEALED_SECRETS_CHROMIUM:-}" ] && [ -x "${SEALED_SECRETS_CHROMIUM}" ]; } && ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
for shell in zsh fish; do command -v "$shell" >/dev/null 2>&1 || missing+=("$shell"); done
(( ${#missing[@]} == 0 )) && exit 0
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "test-tools: missing ${missing[*]}; install them from Debian's packages (apt-get install --no-install-recommends ${missing[*]}) or set SEALED_SECRETS_CHROMIUM for the browser" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for program in "${missing[@]}"; do command -v "$program" >/dev/null; done
