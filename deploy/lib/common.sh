# Shell functions shared by the installers and their tests (sourced, not run).
# Every installer step is written to be run again: it checks, then changes.

log() { printf '%s %s\n' "${LOG_TAG:-deploy}:" "$*" >&2; }
die() { log "error: $*"; exit 1; }

require_root() {
    [ "$(id -u)" = 0 ] || die "run this as root (sudo $0 ...)"
}

# apt-get install only what is missing, so a second run neither downloads
# nor touches what is already there. Arguments: package names.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -q >/dev/null
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# The packages named in a list file: one a line, # comments and blank lines skipped.
package_list() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1"
}

# A system user with no login and no password, its home the given folder.
ensure_system_user() {
    local user=$1 home=$2
    if ! id -u "$user" >/dev/null 2>&1; then
        log "creating system user $user"
        adduser --system --group --home "$home" --no-create-home --shell /usr/sbin/nologin "$user" >/dev/null
    fi
}

# Write a file only when its content differs, so a rerun changes no mtime
# and reports what it repaired. Arguments: destination, mode; content on stdin.
install_content() {
    local dest=$1 mode=$2 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
        rm -f "$tmp"
        chmod "$mode" "$dest"
        return 0
    fi
    mkdir -p "$(dirname "$dest")"
    install -m "$mode" "$tmp" "$dest"
    rm -f "$tmp"
    log "wrote $dest"
}

# Wait until a URL answers 200, at most the given seconds. Arguments: url, seconds.
wait_for_url() {
    local url=$1 seconds=${2:-30} deadline
    deadline=$(( $(date +%s) + seconds ))
    until curl -fsS -o /dev/null --max-time 2 "$url"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}
