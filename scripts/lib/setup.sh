# Shared set-up for scripts/quickstart and scripts/test: installs what is missing on a Debian
# machine and builds the router. Sourced, not run. Needs root (or sudo) only to install packages.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root to run: $*"
    fi
}

# Debian packages the build, the tests and the quickstart need.
REQUIRED_PACKAGES=(libcurl4-openssl-dev libsqlite3-dev pkg-config python3 openssl ca-certificates)

install_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "Installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq || die "apt-get update failed"
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

# PyPI packages for the MESH tests (mesh-sandbox, mesh-client). Best effort: tests skip, saying so, without them.
install_python_packages() {
    python3 -c 'import mesh_sandbox, mesh_client' 2>/dev/null && return 0
    say "Installing mesh-sandbox and mesh-client from PyPI"
    python3 -m pip --version >/dev/null 2>&1 || install_packages python3-pip
    python3 -m pip install -q mesh-sandbox mesh-client 2>/dev/null \
        || python3 -m pip install -q --break-system-packages mesh-sandbox mesh-client \
        || say "mesh-sandbox could not be installed; the MESH tests will say so and skip"
}

check_swift() {
    command -v swift >/dev/null 2>&1 || die "Swift 6 is not installed (expected at /opt/swift); install the Swift 6.3 toolchain first"
}

build_router() {
    say "Building referral-router (debug; the first build takes a few minutes)"
    (cd "$ROOT" && swift build --product referral-router) || die "build failed"
    ROUTER_BIN="$ROOT/.build/debug/referral-router"
}

# make_local_tls DIR: a CA and a server certificate for 127.0.0.1/::1/localhost, made here and now.
make_local_tls() {
    local dir="$1"
    [ -s "$dir/server.pem" ] && [ -s "$dir/ca.pem" ] && openssl x509 -checkend 3456000 -noout -in "$dir/server.pem" >/dev/null 2>&1 && return 0
    mkdir -p "$dir" && chmod 700 "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=referral-router local test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1 || die "openssl could not make the CA"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 365 \
        -extfile "$dir/server.ext" -out "$dir/server.pem" >/dev/null 2>&1 || die "openssl could not sign the server certificate"
    chmod 600 "$dir"/*.key
}
