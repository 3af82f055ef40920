#!/usr/bin/env bash
# Build the Gaudi component MLPFParticleFlow (build/k4) for tests/k4run, with the first Key4hep
# stack found (the same order as tests/k4run/conftest.py):
#   1. K4MLPF_KEY4HEP_SETUP=/cvmfs/sw.hsf.org/key4hep/setup.sh (a script to source; CI in a Key4hep image)
#   2. a Key4hep release sourced in this shell (KEY4HEP_STACK set)
#   3. the prebuilt stack of ../shared/key4hep (installed at /opt/k4 by its setup.sh, as root)
# Without any: says so and exits 0 (tests/k4run then skip with the reason). Configures build/k4 once,
# then only rebuilds what changed (ninja: "no work to do" when up to date, ~1 s).
#   .ci/k4build.sh VENV
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
build=build/k4
if [ -n "${K4MLPF_KEY4HEP_SETUP:-}" ]; then
  prefix="source $K4MLPF_KEY4HEP_SETUP >/dev/null &&"
elif [ -n "${KEY4HEP_STACK:-}" ]; then
  prefix=""
elif [ -x ../shared/key4hep/setup.sh ] && { [ "$(id -u)" = 0 ] || [ -e /opt/k4/env.sh ]; }; then
  ../shared/key4hep/setup.sh "$venv"
  prefix="source /opt/k4/env.sh &&"
else
  echo "k4mlpf: no Key4hep stack (K4MLPF_KEY4HEP_SETUP, KEY4HEP_STACK or ../shared/key4hep as root):" \
       "the Gaudi component is not built, tests/k4run will skip"
  exit 0
fi
configure=true
if [ ! -f $build/CMakeCache.txt ]; then
  torch_cmake=$("$venv/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  generator=$(command -v ninja > /dev/null && echo "-G Ninja" || true)
  configure="cmake -S . -B $build $generator -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=$torch_cmake"
fi
bash -c "$prefix $configure && cmake --build $build -j$(nproc 2>/dev/null || echo 2)"
test -f $build/libk4mlpfPlugins.so || { echo "k4mlpf: a Key4hep stack is there but MLPFParticleFlow was not built (see cmake's messages in $build)" >&2; exit 1; }
