VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup demo tools envtest test lint bench profile soak

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

setup: $(PY)  ## install bindcheck and its dev tools into .venv
	$(PY) -m pip install -q -e '.[dev]'

demo: setup  ## check the bundled examples against the embedded default host catalog
	@$(BIN)/bindcheck check examples/; rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "(exit 1, as expected: two of the examples are meant to be denied)"; \
	else echo "unexpected exit $$rc from the demo" >&2; exit 1; fi

tools:  ## what the tests run for real: redis, nats, wrk (apt), helm and kubectl (.tools/bin), the Kubernetes control plane (make envtest) and Kubernetes' CEL (celref)
	bash .ci/system-deps
	bash .ci/tools
	bash .ci/envtest >/dev/null
	bash .ci/envtest --celref >/dev/null
	bash .ci/envtest --controller-manager >/dev/null

envtest:  ## kube-apiserver, etcd and kubectl for the tests (built from the Go module proxy, cached); prints their directory
	@bash .ci/envtest

lint: setup  ## format check, lint, strict typing, import layers
	$(BIN)/ruff format --check webhook tests bench
	$(BIN)/ruff check webhook tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint tools  ## lint, then the whole test suite
	$(BIN)/pytest

bench: setup  ## print latency and throughput figures (not a test); AGAINST=DIR: also this tree vs that checkout, in interleaved pairs
	$(PY) bench/core_bench.py
	$(PY) bench/cli_bench.py
	$(PY) bench/server_bench.py
	$(PY) bench/apiserver_bench.py
	$(if $(AGAINST),$(PY) bench/pair_bench.py --against $(AGAINST))

profile: setup  ## where a served review's time goes under load, by phase (py-spy samples; needs wrk)
	$(PY) bench/profile_server.py

soak: setup  ## 60 s at concurrency 64, every answer checked, memory growth measured
	$(PY) bench/soak.py --duration 60 --concurrency 64
