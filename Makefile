# SciPerf: `make demo` runs the main job, `make test` passes the tests. Each bootstraps .venv the
# first time: TensorFlow (CPU build here), then Horovod built from source against it (with
# TensorFlow and Gloo; about 3 minutes on 2 cores, cached by pip afterwards), then this project.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sciperf-ready
HOROVOD := horovod==0.28.1
# Horovod 0.28.1's CMake files predate CMake 4 (which dropped compatibility with < 3.5).
CMAKE := cmake==3.31.6
HOROVOD_FLAGS := HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_PYTORCH=1 \
                 HOROVOD_WITHOUT_MXNET=1 HOROVOD_WITHOUT_MPI=1
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: all venv demo test test-fast bench browser clean
all: test

venv: $(STAMP)
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (TensorFlow 2.15 needs Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==24.3.1 setuptools==75.6.0 wheel==0.45.1 $(CMAKE)
	$(BIN)/pip install --quiet -e '.[test]'
	PATH="$(CURDIR)/$(BIN):$$PATH" $(HOROVOD_FLAGS) MAKEFLAGS=-j2 \
	  $(BIN)/pip install --quiet --no-build-isolation $(HOROVOD)
	$(BIN)/python tools/check_horovod.py
	touch $(STAMP)

# A Chromium for the report page's browser test; the test skips with the reason where none
# can be had (not root, no apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "note: no Chromium installed; the browser test will skip"; }

demo: $(STAMP)
	$(BIN)/python -m tools.demo

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m tools.perf.run_all

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
