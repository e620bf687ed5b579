# GPU image for `musicflamingo serve`. NOT built or run in this repository's environment
# (no Docker, no GPU there); see docs/serving.md. The weights are mounted, not baked in:
#   docker build -t musicflamingo-serve .
#   docker run --gpus all -p 8000:8000 -v $PWD/weights:/weights:ro \
#     -e MUSICFLAMINGO_API_KEY=change-me musicflamingo-serve --model /weights/mf-2601 --host 0.0.0.0
FROM python:3.11-slim-bookworm

# a compiler for the Vamp host (Chordino chords of the measured facts)
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# PyPI's Linux torch wheels carry their CUDA libraries; the host needs the NVIDIA driver and
# the container toolkit. Another CUDA build: --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
ARG TORCH_INDEX=https://pypi.org/simple
RUN pip install --no-cache-dir --upgrade pip setuptools wheel \
    && pip install --no-cache-dir --index-url "$TORCH_INDEX" "torch==2.13.0" \
    && pip install --no-cache-dir "numpy>=2" \
    && pip install --no-cache-dir --no-build-isolation "vamp==1.1.0"
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir ".[model,llm]" accelerate

ENV HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
ENTRYPOINT ["musicflamingo", "serve", "--port", "8000"]
