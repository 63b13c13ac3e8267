#!/usr/bin/env bash
# Install fieldkit as a hub on Raspberry Pi OS Bookworm or Trixie (run as root on the Pi).
#
#   sudo ./install.sh [--name NAME]               online, from this fieldkit checkout
#   sudo ./install.sh --offline DIR [--name NAME] from a wheelhouse (fieldkit provision
#                                                 wheelhouse DIR, made where there is internet)
#
# Steps: the system packages (python3-venv, NetworkManager with dnsmasq-base, nftables), a
# venv at /opt/fieldkit/venv, fieldkit and its locked dependencies (hash-checked), a hub
# (`fieldkit init`, only if there is none: an existing hub, its id and its log are kept),
# then `fieldkit provision apply` (the Wi-Fi hotspot, DNS, firewall, the fieldkit user and
# service). Running it again is safe: what is there already is kept.
#
# Options:
#   --offline DIR  install from the wheelhouse DIR, with the network index disabled
#   --name NAME    the new hub's name residents see (default "Community hub")
#   --root DIR     rehearse into DIR instead of / (a test root): no apt, nothing started
#   --dry-run      print each step instead of running it
#   --any-os       go on on a system that is neither Bookworm nor Trixie
set -euo pipefail

PREFIX=/opt/fieldkit
CONFIG=/etc/fieldkit/fieldkit.toml
DATA_DIR=/var/lib/fieldkit
APT_PACKAGES=(python3-venv network-manager dnsmasq-base nftables)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

given=("$@")
offline=""
name="Community hub"
root=""
dry_run=0
any_os=0

die() {
    echo "install.sh: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --offline) [ $# -ge 2 ] || die "--offline needs a folder"; offline=$2; shift 2 ;;
        --name) [ $# -ge 2 ] || die "--name needs a name"; name=$2; shift 2 ;;
        --root) [ $# -ge 2 ] || die "--root needs a folder"; root=$2; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        --any-os) any_os=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

# Print a step; run it unless this is a dry run.
step() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    if [ "$dry_run" -eq 0 ]; then
        "$@"
    fi
}

if [ -n "$root" ]; then
    root=$(realpath -m "$root")
    [ "$root" != / ] || root=""
fi
venv="$root$PREFIX/venv"
config="$root$CONFIG"
data_dir="$root$DATA_DIR"

# --- where we are -------------------------------------------------------------------------
codename=""
if [ -r /etc/os-release ]; then
    codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d '"')
fi
case "$codename" in
    bookworm | trixie) ;;
    *) [ "$any_os" -eq 1 ] || die "this is not Raspberry Pi OS Bookworm or Trixie" \
        "(VERSION_CODENAME=${codename:-unknown}); add --any-os to try anyway" ;;
esac
if [ -z "$root" ] && [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    die "run it as root: sudo $0 ${given[*]}"
fi
if [ -n "$offline" ]; then
    [ -f "$offline/requirements.lock" ] || die "$offline is not a wheelhouse" \
        "(no requirements.lock): make one with \`fieldkit provision wheelhouse DIR\`"
    wheels=("$offline"/fieldkit-*.whl)
    [ -f "${wheels[0]}" ] || die "$offline has no fieldkit wheel: make it again"
    [ ${#wheels[@]} -eq 1 ] || die "$offline has ${#wheels[@]} fieldkit wheels: keep one"
else
    source_dir=$(cd "$HERE/.." && pwd)
    if [ ! -f "$source_dir/pyproject.toml" ] || [ ! -f "$source_dir/requirements.lock" ]; then
        die "$source_dir is not a fieldkit checkout: use the install.sh in one, or --offline DIR"
    fi
fi

# --- system packages ----------------------------------------------------------------------
if [ -n "$root" ]; then
    echo "- system packages: not installed under --root (${APT_PACKAGES[*]})"
elif [ -n "$offline" ]; then
    missing=()
    for package in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        die "offline, and these system packages are missing: ${missing[*]}" \
            "(Raspberry Pi OS has most of them; \`apt-get install\` them where there is internet)"
    fi
    echo "- system packages: all there"
else
    step env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    step env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${APT_PACKAGES[@]}"
fi

# --- the venv and fieldkit ----------------------------------------------------------------
if [ -x "$venv/bin/python" ]; then
    echo "- $venv: there already"
else
    step mkdir -p "$(dirname "$venv")"
    step python3 -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
if [ -n "$offline" ]; then
    step env PIP_CONFIG_FILE=/dev/null "${pip[@]}" --no-index --find-links "$offline" \
        --require-hashes --only-binary=:all: -r "$offline/requirements.lock"
    step env PIP_CONFIG_FILE=/dev/null "${pip[@]}" --no-index --no-deps --force-reinstall \
        "${wheels[0]}"
else
    step "${pip[@]}" --require-hashes --only-binary=:all: -r "$source_dir/requirements.lock"
    step "${pip[@]}" --no-deps --force-reinstall "$source_dir"
fi
fieldkit=("$venv/bin/fieldkit" --config "$config")
if [ -n "$root" ]; then
    export FIELDKIT_DATA_DIR="$data_dir"  # the config names the Pi's folder; rehearse in ours
fi

# --- the hub ------------------------------------------------------------------------------
if [ -e "$data_dir/hub.sqlite3" ]; then
    echo "- hub: there already in $data_dir (kept, with its id and log)"
else
    step mkdir -p "$data_dir"
    step chmod 0700 "$data_dir"
    step "${fieldkit[@]}" init --name "$name" --data-dir "$DATA_DIR"
fi

# --- the system files ---------------------------------------------------------------------
if [ -n "$root" ]; then
    step "${fieldkit[@]}" provision apply --root "$root"
else
    step "${fieldkit[@]}" provision apply
fi

echo
echo "fieldkit is installed in $venv; its config is $config."
echo "next (as root): fieldkit --config $CONFIG network join CODE (or network new), set the"
echo "radio, then \`fieldkit --config $CONFIG provision check\`, and test with a phone."
