#!/usr/bin/env bash
# scripts/deps.sh [run|test] — make sure the Debian packages krach needs are installed.
#
#   run   what building and running krach needs (the default)
#   test  run + what the test suite, fuzzers and real-time tests need
#
# Silent when everything is present (one dpkg-query call, no apt). Otherwise it
# installs what is missing with apt-get, as root or through `sudo -n`, or prints
# the exact command to run and exits 1. Optional packages (ipython3; faust and
# libfaust2 when only running) are installed when we
# can install, never a failure.
set -euo pipefail

mode=${1:-run}
run_pkgs=(build-essential cmake pkg-config portaudio19-dev libsndfile1-dev libjansson-dev python3)
# faust + libfaust2: the FAUST backend (faust_expr, .dsp files). Optional to
# run krach, required to test both backends.
faust_pkgs=(faust libfaust2)
optional_pkgs=(ipython3)
case $mode in
  run)  pkgs=("${run_pkgs[@]}"); optional_pkgs+=("${faust_pkgs[@]}") ;;
  test) pkgs=("${run_pkgs[@]}" "${faust_pkgs[@]}" python3-pytest python3-numpy python3-soundfile python3-pip python3-setuptools jackd2 clang sox) ;;
  *)    echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac

# Print the packages among "$@" that are not installed.
missing() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null \
                | awk '$NF == "installed" { print $1 }') || true
  local p
  for p in "$@"; do
    grep -qxF "$p" <<<"$installed" || echo "$p"
  done
}

mapfile -t need < <(missing "${pkgs[@]}")
mapfile -t want < <(missing "${optional_pkgs[@]}")
[[ ${#need[@]} -eq 0 && ${#want[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  if [[ ${#need[@]} -gt 0 ]]; then
    echo "krach needs these Debian packages: ${need[*]}" >&2
    echo "install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
  exit 0  # only optional packages are missing, and we cannot install
fi

# A failed optional install is not retried for a day, so that a machine
# without network does not run apt-get on every start.
stamp=${XDG_CACHE_HOME:-$HOME/.cache}/krach/optional-install-failed
if [[ ${#need[@]} -eq 0 && -n $(find "$stamp" -mmin -1440 2>/dev/null) ]]; then
  exit 0
fi

apt_install() {
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "$@"
}

echo "krach: installing Debian packages: ${need[*]} ${want[*]}" >&2
if ! "${as_root[@]}" apt-get update -q >&2; then
  [[ ${#need[@]} -gt 0 ]] && { echo "krach: apt-get update failed" >&2; exit 1; }
fi
if [[ ${#need[@]} -gt 0 ]]; then
  apt_install "${need[@]}" >&2 || {
    echo "krach: could not install: ${need[*]}" >&2
    exit 1
  }
fi
if [[ ${#want[@]} -gt 0 ]]; then
  if apt_install "${want[@]}" >&2; then
    rm -f "$stamp"
  else
    echo "krach: optional ${want[*]} not installed (the REPL falls back to plain Python)" >&2
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
  fi
fi
