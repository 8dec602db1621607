#!/usr/bin/env bash
# The README's first command: on a fresh Debian 12 machine with Node, sets up the sandbox and
# runs the whole clean-up plan (npm run clean:all) on it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-packages.sh
[ -x node_modules/.bin/tsx ] || npm ci --no-audit --no-fund
# The demo leaves nothing running: its end, however it ends, stops the sandbox's processes and
# keeps their state, so the next `npm run demo` brings the same sandbox back (a second run changes nothing).
trap 'node_modules/.bin/tsx sandbox/stop.ts' EXIT
node_modules/.bin/tsx sandbox/up.ts

echo >&2
settings="${SANDBOX_DIR:-.sandbox}/.env"
echo "── The sandbox is up. Now the whole plan runs on it: npm run clean:all -- --env-file $settings" >&2
echo >&2
run() {
  if [ -t 0 ] && [ -t 2 ]; then
    sh scripts/task.sh "$1" --env-file "$settings" "${@:2}"
  else
    echo "(no terminal to confirm on: applying with --yes, since this is the sandbox)" >&2
    sh scripts/task.sh "$1" --env-file "$settings" --yes "${@:2}"
  fi
}
run chain/all.ts "$@"

# Once per sandbox: a new release of the API, started beside the one clean:all deployed, the front
# moved to it by a reload, the old one drained and removed; the probe counts the failed requests.
backend="${SANDBOX_DIR:-.sandbox}/backend"
if ! git -C "$backend" log --format=%s | grep -qx 'demo: a new release'; then
  echo >&2
  echo "── A new release of the webhook API, deployed beside the serving one: npm run deploy:clean" >&2
  echo >&2
  echo 'demo release' > "$backend/api_server/www/version"
  git -C "$backend" add api_server/www/version
  git -C "$backend" commit -q -m 'demo: a new release'
  run tasks/deploy.ts
fi
