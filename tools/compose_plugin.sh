#!/usr/bin/env bash
# Puts Docker's compose plugin (v2) where the Docker CLI finds it, for
# `docker compose config` in common/tests/test_compose.py. No engine is needed.
#
# These machines have the Docker CLI without the plugin, and Debian bookworm
# packages only Compose v1 (which does not take the Compose Specification).
# Debian trixie's `docker-compose` package is the v2 plugin, one static binary:
# it is downloaded with a sources list of its own (the system's apt setup is
# left alone) and unpacked under DIR. Prints the directory to use as DOCKER_CONFIG.
#
#   tools/compose_plugin.sh DIR
set -o errexit -o pipefail -o nounset

dir=$(mkdir -p "$1" && cd "$1" && pwd)
work="$dir/apt"
mkdir -p "$work/lists/partial" "$dir/cli-plugins"
echo "deb http://deb.debian.org/debian trixie main" > "$work/sources.list"
apt_options=(
  -o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0"
)
apt-get "${apt_options[@]}" update -qq >/dev/null
(cd "$work" && apt-get "${apt_options[@]}" download docker-compose >/dev/null 2>&1)
dpkg-deb -x "$work"/docker-compose_*.deb "$work/unpacked"
install -m 0755 "$work/unpacked/usr/libexec/docker/cli-plugins/docker-compose" "$dir/cli-plugins/docker-compose"
DOCKER_CONFIG="$dir" docker compose version >/dev/null
echo "$dir"
