#!/usr/bin/env bash
# What building guest images and booting them needs, from Debian's packages: qemu-system-x86
# (qemu-system-x86_64: software emulation where the CPU has no virtualisation extensions),
# qemu-utils (qemu-img), debootstrap, genisoimage (the config drive), e2fsprogs (mkfs.ext4 -d)
# and socat (the VM's only way out: a guestfwd to the host's RabbitMQ). Installs only what is
# missing; quick when everything is there.
#   tools/lab/vm.sh
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
log() { printf '[vm.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=apt.sh
. "$HERE/apt.sh"

mapfile -t missing < <(missing_packages qemu-system-x86 qemu-utils debootstrap genisoimage e2fsprogs socat)
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { log "not root: cannot install ${missing[*]}"; exit 1; }
log "installing ${missing[*]} (first run only)"
aptlog=$(mktemp)
apt_install "$aptlog" "${missing[@]}" || { tail -20 "$aptlog" >&2; log "apt-get install failed"; exit 1; }
rm -f "$aptlog"
