# Sourced by the demo scripts: demo_prereqs NAME checks for cargo and installs Debian's
# docker-registry (distribution 2.8, as .ci/run installs it) when it is missing; NAME is the
# make target the messages name.
demo_prereqs() {
  local name=$1
  if ! command -v cargo >/dev/null 2>&1; then
    echo "$name: cargo not found; install Rust (https://rustup.rs) and run make $name again" >&2
    exit 2
  fi
  if [ ! -x /usr/bin/docker-registry ]; then
    echo "$name: installing docker-registry (apt)..."
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
        echo "$name: run as root or install docker-registry: apt-get install -y docker-registry" >&2
        exit 2
      fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq docker-registry >/dev/null
  fi
}
