#!/usr/bin/env bash
# Sets auditor up on a Debian 12 machine that has nothing but this repository, then runs it.
#
#   scripts/bootstrap.sh demo          install what the demo needs, then write the demo report
#   scripts/bootstrap.sh test          install everything, then run `make test` (ruff, mypy, pytest)
#   scripts/bootstrap.sh lab           install what the PostgreSQL and WinRM labs need
#   scripts/bootstrap.sh install P     install profile P (demo, lab or test) and run nothing
#   scripts/bootstrap.sh               the same as `install test` (a development set-up)
#
# System packages come from apt-get (only those missing; run as root or with sudo), Python
# packages go into .venv; apt-get's and pip's output go to a log that is printed if they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core libodbc2)
LAB_PACKAGES=(unixodbc odbc-postgresql tdsodbc postgresql)
# systemd-analyze and promtool check the units and metrics files the scheduler writes
TEST_PACKAGES=(make poppler-utils chromium systemd prometheus)

usage() {
  sed -n '4,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local action=${1:-install} profile
  case "$action" in
    install) profile=${2:-test} ;;
    demo|lab|test) profile=$action ;;
    -h|--help) usage ;;
    *) echo "bootstrap: unknown command '$action'" >&2; usage ;;
  esac
  case "$profile" in demo|lab|test) ;; *) echo "bootstrap: unknown profile '$profile'" >&2; usage ;; esac
  install_profile "$profile"
  case "$action" in
    demo) exec .venv/bin/auditor demo --out "${DEMO_OUT:-auditor-demo}" ;;
    test) exec make test ;;
    lab) echo "bootstrap: ready; start the lab with: .venv/bin/auditor lab sql up --dir lab" ;;
  esac
}

install_profile() {
  local profile=$1 packages=("${DEMO_PACKAGES[@]}") extras=""
  [ "$profile" = demo ] || { packages+=("${LAB_PACKAGES[@]}"); extras="lab"; }
  [ "$profile" = test ] && { packages+=("${TEST_PACKAGES[@]}"); extras="dev,lab"; }
  PYTHON=${PYTHON:-$(pick_python)}
  [ "$PYTHON" = /usr/bin/python3 ] && packages+=(python3 python3-venv)
  apt_install "${packages[@]}"
  [ "$profile" = demo ] || configure_freetds
  make_venv "$extras"
}

# A python3 of 3.11 or later that can make a venv with pip (pyenv's, say); else Debian's, which
# needs python3-venv for that.
pick_python() {
  local candidate
  candidate=$(command -v python3 || true)
  if [ -n "$candidate" ] && [ "$(readlink -f "$candidate")" != "$(readlink -f /usr/bin/python3)" ] \
     && "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' \
        2>/dev/null; then
    echo "$candidate"
  else
    echo /usr/bin/python3
  fi
}

apt_install() {
  local missing=() pkg log sudo=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log=$(mktemp "${TMPDIR:-/tmp}/auditor-apt.XXXXXX.log")
  echo "bootstrap: apt-get install ${missing[*]} (log: $log)"
  if ! { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive \
         $sudo apt-get install -y "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "bootstrap: apt-get failed (above, and in $log)" >&2
    exit 1
  fi
  rm -f "$log"
}

# tdsodbc registers the FreeTDS driver with odbcinst; register it if a package did not. FreeTDS
# accepts any server certificate unless freetds.conf names a CA file: `ca file = system` makes
# `Encryption=require` (the collector's `encrypt: true`) check the certificate and host name.
configure_freetds() {
  local conf=/etc/freetds/freetds.conf sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! odbcinst -q -d -n FreeTDS >/dev/null 2>&1; then
    printf '[FreeTDS]\nDescription=FreeTDS\nDriver=libtdsodbc.so\nSetup=libtdsS.so\n' \
      | $sudo odbcinst -i -d -r >/dev/null
    echo "bootstrap: registered the FreeTDS ODBC driver"
  fi
  if [ -f "$conf" ] && ! grep -Eq '^[[:space:]]*ca file[[:space:]]*=' "$conf"; then
    $sudo sed -i '/^\[global\]/a\
\t# added by auditor scripts/bootstrap.sh: check SQL Server certificates against the system CAs\
\tca file = system' "$conf"
    echo "bootstrap: $conf: ca file = system (FreeTDS checks server certificates)"
  fi
}

# The venv is remade when pyproject.toml changed or a profile needs extras it lacks.
make_venv() {
  local extras=$1 stamp=.venv/.installed have="" log
  [ -f "$stamp" ] && have=$(cat "$stamp")
  if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ ! pyproject.toml -nt "$stamp" ] \
     && covers "$have" "$extras"; then
    return 0
  fi
  extras=$(merge "$have" "$extras")
  echo "bootstrap: installing into .venv (${extras:-no extras}) with $PYTHON"
  log=$(mktemp "${TMPDIR:-/tmp}/auditor-pip.XXXXXX.log")
  if ! { { [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv; } \
         && .venv/bin/python -m pip install -q --upgrade pip \
         && .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "bootstrap: installing into .venv failed (above, and in $log)" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$extras" > "$stamp"
}

covers() {  # do the installed extras $1 include every one of $2?
  local want
  for want in ${2//,/ }; do [[ ",$1," == *",$want,"* ]] || return 1; done
}

merge() {
  local all
  all=$(printf '%s\n' ${1//,/ } ${2//,/ } | sort -u | paste -sd, -)
  echo "${all#,}"
}

main "$@"
