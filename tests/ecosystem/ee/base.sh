#!/usr/bin/env bash
# Makes the local base image of the example execution environment and prints its name. Public registries may be
# out of reach, so the base comes from Debian packages (debootstrap) plus ansible-core and ansible-runner from PyPI,
# pinned as in requirements-dev.txt. The image's tag is a digest of everything that goes into it, so a second run
# finds it and returns at once. Installs podman, runc and debootstrap from Debian packages when they are missing.
# Usage: tests/ecosystem/ee/base.sh <work directory>
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
here="$repo/tests/ecosystem/ee"
work=${1:?usage: base.sh <work directory>}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# podman's default OCI runtime (crun) cannot start containers in some sandboxes and CI runners; runc can.
podman=(podman --runtime runc)

missing=()
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "make ee needs ${missing[*]}: run 'sudo apt-get install -y podman runc debootstrap', then make ee again" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

pin() {
    grep -E "^$1==" "$repo/requirements-dev.txt" || { echo "requirements-dev.txt pins no $1" >&2; exit 1; }
}
ansible_core=$(pin ansible-core)
ansible_runner=$(pin ansible-runner)
# The CAs this machine added to its trust store go into the image too (see base.Containerfile).
local_ca=/usr/local/share/ca-certificates
context="$work/base-context"
rm -rf "$context"
mkdir -p "$context/local-ca"
cp "$here/base.Containerfile" "$context/"
find "$local_ca" -name '*.crt' -exec cp {} "$context/local-ca/" \; 2>/dev/null || true
digest=$( (printf '%s\n' "$suite" "$ansible_core" "$ansible_runner"; cd "$context" && find . -type f -print0 | sort -z | xargs -0 cat) \
    | sha256sum | cut -c1-12)
rootfs_image=localhost/mde-response-ee-rootfs:$suite
base_image=localhost/mde-response-ee-base:$digest

if ! "${podman[@]}" image exists "$base_image"; then
    if ! "${podman[@]}" image exists "$rootfs_image"; then
        rm -rf "$work/rootfs"
        mkdir -p "$work"
        # python3-venv: the image's Python is a virtualenv (see base.Containerfile).
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
            || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
        tar -C "$work/rootfs" -c . | "${podman[@]}" import --quiet - "$rootfs_image" >/dev/null
        rm -rf "$work/rootfs"
    fi
    "${podman[@]}" build --quiet --network host --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
        --build-arg ROOTFS="$rootfs_image" --build-arg ANSIBLE_CORE="$ansible_core" \
        --build-arg ANSIBLE_RUNNER="$ansible_runner" --tag "$base_image" \
        --file "$context/base.Containerfile" "$context" >/dev/null
fi
echo "$base_image"
