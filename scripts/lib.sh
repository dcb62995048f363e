# Shared helpers for the scripts: package installation and the Swift toolchain.
step() { printf '\n==> %s\n' "$*"; }

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

# apt-get install, once per run, unless SKIP_APT is set.
install_packages() {
  if [[ -n "${SKIP_APT:-}" ]]; then return; fi
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [[ ${#missing[@]} -eq 0 ]]; then echo "already installed: $*"; return; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
}

# Swift 6: use the one on PATH (or /opt/swift); otherwise install the official Debian 12 toolchain
# from swift.org into /opt/swift.
SWIFT_VERSION="${SWIFT_VERSION:-6.1.2}"
ensure_swift() {
  if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  fi
  if command -v swift >/dev/null 2>&1; then
    swift --version 2>&1 | head -n 1
    return
  fi
  step "installing Swift $SWIFT_VERSION (swift.org, Debian 12)"
  install_packages binutils git gnupg2 libc6-dev libncurses6 libcurl4-openssl-dev libedit2 libgcc-12-dev \
    libpython3-dev libsqlite3-0 libstdc++-12-dev libxml2-dev libz3-dev pkg-config tzdata unzip zlib1g-dev curl
  local name="swift-$SWIFT_VERSION-RELEASE-debian12"
  local url="https://download.swift.org/swift-$SWIFT_VERSION-release/debian12/swift-$SWIFT_VERSION-RELEASE/$name.tar.gz"
  local tmp
  tmp="$(mktemp -d)"
  curl -fsSL "$url" -o "$tmp/swift.tar.gz"
  $SUDO mkdir -p /opt/swift
  $SUDO tar -xzf "$tmp/swift.tar.gz" -C /opt/swift --strip-components=1
  rm -rf "$tmp"
  export PATH="/opt/swift/usr/bin:$PATH"
  swift --version 2>&1 | head -n 1
}
