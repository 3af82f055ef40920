#!/usr/bin/env bash
# ROOT from PyPI (root==0.1a12) ships CMake files and root-config that point at a
# 'mock_site_packages' folder that does not exist. Two symlinks make find_package(ROOT) and
# root-config work (see ../shared/reference/dependencies.md). Idempotent.
set -euo pipefail
venv=${1:-.venv}
pyver=$("$venv/bin/python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')
lib="$venv/lib/$pyver"
site="$lib/site-packages"
[ -d "$site/ROOT" ] || { echo "setup_root_links: ROOT is not installed in $venv" >&2; exit 1; }
[ -e "$lib/mock_site_packages" ] || ln -s site-packages "$lib/mock_site_packages"
[ -e "$site/ROOT/mock_site_packages" ] || ln -s .. "$site/ROOT/mock_site_packages"
