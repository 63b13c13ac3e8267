#!/usr/bin/env bash
# mypy (strict) over the whole fieldkit namespace. The folders mesh/, web/ and provisioning/
# install as fieldkit.mesh, fieldkit.web and fieldkit.provisioning; mypy cannot follow that
# mapping, so build a tree of symlinks with the installed layout and check that.
set -euo pipefail
cd "$(dirname "$0")"
tree=build/typecheck
rm -rf "$tree" && mkdir -p "$tree/fieldkit"
cp -rs "$PWD/fieldkit/." "$tree/fieldkit/"
for dir in mesh web provisioning; do cp -rs "$PWD/$dir" "$tree/fieldkit/$dir"; done
find "$tree" -name __pycache__ -prune -exec rm -rf {} +
MYPYPATH="$tree" exec "${PYTHON:-.venv/bin/python}" -m mypy -p fieldkit "$@"
