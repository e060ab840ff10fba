#!/bin/sh
# Makes the image debian:bookworm-slim from Debian's packages, for Docker engines that cannot pull from an image
# registry (the Dockerfiles start FROM it; with registry access `docker pull debian:bookworm-slim` gives the same base).
#   sh scripts/debian-base-image.sh [MIRROR]   # default: the Debian mirror apt uses here, else deb.debian.org
# Needs root and debootstrap. About half a minute on a fast mirror.
set -eu
mirror="${1:-}"
if [ -z "$mirror" ]; then
  # deb822 (URIs: ...) or one-line (deb URI suite ...) sources: the first plain Debian archive (not -security).
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
    | tr ' ' '\n' | grep -E '/debian/?$' | head -n 1 || true)
  mirror="${mirror:-http://deb.debian.org/debian}"
  mirror="${mirror%/}"
fi
dir=$(mktemp -d /tmp/debian-bookworm.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "debian-base-image: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$dir" "$mirror" >/dev/null
# Like the registry's image: bookworm, -updates and -security sources (from the same mirror), no package cache.
rm -f "$dir/etc/apt/sources.list"
cat > "$dir/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
tar -C "$dir" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
echo "debian-base-image: made debian:bookworm-slim" >&2
