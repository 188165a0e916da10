#!/usr/bin/env bash
# Runs Node with the project's toolchain: the system Node when it is new
# enough (>= 22.19, which runs TypeScript directly), else the cached Node 24
# that tools/toolchain.sh installs. npm scripts go through this so that
# `npm run generate` works whatever Node started npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${PAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pake-operator}
if [ -f "$cache/env.sh" ]; then
  . "$cache/env.sh"
else
  . "$(bash "$here/toolchain.sh")"
fi
exec node "$@"
