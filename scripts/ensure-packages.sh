#!/usr/bin/env bash
# Installs the Debian packages the tests, the sandbox and the benchmark need, when any is missing.
# Safe to run again: with everything present it does nothing and asks no registry.
set -euo pipefail

declare -A needs=(
  [dockerd]=docker.io
  [docker-registry]=docker-registry
  [sshd]=openssh-server
  [ssh]=openssh-client
  [htpasswd]=apache2-utils
  [busybox]=busybox-static
  [docker-compose]=docker-compose
  [skopeo]=skopeo
  [git]=git
  [openssl]=openssl
  [ps]=procps
  [python3]=python3
)
paths=(/usr/sbin/sshd /usr/sbin/dockerd /bin/busybox)

missing=()
for tool in "${!needs[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! ls "${paths[@]}" 2>/dev/null | grep -q "/$tool\$"; then
    missing+=("${needs[$tool]}")
  fi
done
# The tests' nginx front is an image built from Debian's nginx .debs (sandbox/fixtures/nginx-image.ts):
# they are only downloaded into the apt cache, never installed.
fetch=()
for package in nginx nginx-common; do
  ls /var/cache/apt/archives/${package}_*.deb >/dev/null 2>&1 || fetch+=("$package")
done
[ ${#missing[@]} -eq 0 ] && [ ${#fetch[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "These Debian packages are missing: ${missing[*]} (to install) ${fetch[*]} (to download: apt-get install --download-only). Run this as root, then run again." >&2
  exit 2
fi
echo "Installing Debian packages: ${missing[*]}; downloading: ${fetch[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
[ ${#missing[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
[ ${#fetch[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends --download-only "${fetch[@]}" >/dev/null
