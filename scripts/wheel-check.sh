#!/usr/bin/env bash
# The wheel carries every runtime dependency and data file: build it from the tracked and new
# files of this tree, install it into a fresh venv outside the tree (so the source cannot be
# imported by accident), and run it from there:
#   1. `auditor demo` writes a PDF (base dependencies only);
#   2. with the `lab` extra, `auditor lab sql up` starts the PostgreSQL lab, one printed audit
#      command is run as printed, and `auditor lab sql down` removes it.
# Needs what `scripts/bootstrap.sh install lab` installs (PostgreSQL, unixODBC, odbc-postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys; print(sys._base_executable)' || command -v python3)}

work=$(mktemp -d "${TMPDIR:-/tmp}/auditor-wheel.XXXXXX")
lab_up=""
cleanup() {
  [ -n "$lab_up" ] && "$work/venv/bin/auditor" lab sql down --dir "$work/lab" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf 'wheel-check: [%3ds] %s\n' "$SECONDS" "$*"; }
quiet() {  # run "$@" with its output in a log, shown only when it fails
  local log=$1; shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "wheel-check: failed: $*" >&2; exit 1; }
}

# A copy of the tree without build leftovers (a stale build/ would leak files into the wheel).
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | tar -c --null -T - | tar -x -C "$work/src"
step "building the wheel with $PYTHON"
quiet "$work/build.log" "$PYTHON" -m pip wheel -q --no-deps -w "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/*.whl)
step "built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"
for data in auditor/lab/schema.sql auditor/data/rules/practices.yaml \
            auditor/data/report_templates/report.html.j2 auditor/data/fixtures/demo/healthy/evidence.json \
            auditor/probes/catalogue.yaml auditor/report/pdfworker.py; do
  "$PYTHON" -c 'import sys, zipfile; sys.exit(sys.argv[2] not in zipfile.ZipFile(sys.argv[1]).namelist())' \
    "$wheel" "$data" || { echo "wheel-check: $data is missing from the wheel" >&2; exit 1; }
done

"$PYTHON" -m venv "$work/venv"
quiet "$work/pip.log" "$work/venv/bin/python" -m pip install -q "$wheel"
cd "$work"  # nothing of the source tree on sys.path from here on
where=$(venv/bin/python -c 'import auditor; print(auditor.__file__)')
case "$where" in "$work"/venv/*) ;; *) echo "wheel-check: auditor imported from $where" >&2; exit 1 ;; esac
step "installed into a fresh venv; auditor imports from $where"

quiet demo.log venv/bin/auditor demo --out demo
head -c 5 demo/report.pdf | grep -q '%PDF-' || { echo "wheel-check: no PDF written" >&2; exit 1; }
step "auditor demo wrote demo/report.pdf ($(du -k demo/report.pdf | cut -f1) KiB)"

quiet pip-lab.log venv/bin/python -m pip install -q "$wheel[lab]"
step "installed the lab extra"
quiet lab-up.log venv/bin/auditor lab sql up --dir lab --estate healthy
lab_up=yes
printed=$(grep -E '^\s+env \$\(cat .*\) .* audit --inventory' lab-up.log | head -1)
step "lab sql up; running as printed:$printed"
# a home of its own: the audit records into its default history (docs/history.md) there
(cd "$work" && mkdir -p home && HOME="$work/home" bash -c "$printed") >audit.log 2>&1 || [ $? -eq 1 ] \
  || { cat audit.log >&2; exit 1; }
[ -s audit-healthy/results.json ] || { cat audit.log >&2; exit 1; }
[ -s home/.local/share/auditor/history.sqlite ] || { echo "wheel-check: no history recorded" >&2; exit 1; }
step "$(grep -E '^score ' audit.log)"
quiet lab-down.log venv/bin/auditor lab sql down --dir lab
lab_up=""
step "lab sql down; ok"
