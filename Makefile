# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= $(or $(KB_SHARED_DATA),../shared/data)
DEMO_DB ?= db/kb.db
KB := $(BIN)/kb --db $(DEMO_DB)
# torch build: TORCH=cpu (default: the CPU wheel index, no NVIDIA libraries) or TORCH=cuda (the
# stock index, whose Linux torch is the CUDA build). TORCH_INDEX=URL picks another wheel index.
TORCH ?= cpu
TORCH_VERSION ?= 2.13.0
TORCH_INDEX_cpu := https://download.pytorch.org/whl/cpu
TORCH_INDEX_cuda :=
TORCH_INDEX ?= $(TORCH_INDEX_$(TORCH))

.PHONY: install demo test test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@case "$(TORCH)" in cpu|cuda) ;; *) echo "TORCH must be cpu or cuda, not $(TORCH)"; exit 2;; esac
	# torch first, the build chosen by TORCH (the project itself only asks for sentence-transformers);
	# alone from its index (--no-deps): its own needs come from the default index with the project's.
	$(BIN)/pip install --quiet --no-deps torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(KB) init
	$(KB) import starter
	@if [ -d "$(SHARED)/news/seed" ]; then $(KB) add $(SHARED)/news/seed/*.md; \
	  else echo "no shared data at $(SHARED): skipping the seed article"; fi
	@if [ -d "$(SHARED)/vcdb/json" ]; then $(KB) import vcdb $(SHARED)/vcdb/json; \
	  else echo "no shared data at $(SHARED): skipping the VCDB import"; fi
	$(KB) stats
	$(KB) search "intern tampered with the code of a model training job" -k 5
	@echo "Browse the KB: open http://127.0.0.1:8001/-/kb-search (Ctrl-C stops the server)."
	@echo "Keyword search works now; embedding runs in the background and search by meaning joins in as vectors land."
	$(KB) serve --port 8001 --embed

test: install  # everything: the embedding model, the shared data, Chromium (what CI runs)
	$(BIN)/pytest -q

test-fast: install  # no model, no shared data, no browser: parsers, rules, store, CLI, web on a tiny KB
	$(BIN)/pytest -q -m "not slow" -p no:cacheprovider

bench: install  # run `make demo` first: several benchmarks read its database
	$(BIN)/python bench/import_speed.py
	$(BIN)/python bench/relevance.py $(DEMO_DB)
	$(BIN)/python bench/crosslingual.py --vectors-from $(DEMO_DB)
	$(BIN)/python bench/embed_speed.py
	$(BIN)/python bench/query_latency.py $(DEMO_DB)
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/parse_throughput.py
	$(BIN)/python bench/clustering.py
	$(BIN)/python bench/linking.py
	$(BIN)/python bench/legal_extraction.py
	$(BIN)/python bench/datasette_load.py $(DEMO_DB)
	$(BIN)/python bench/input_budget.py
	$(BIN)/python bench/watch_floor.py
	$(BIN)/python bench/watch_cost.py
	$(BIN)/python bench/scope.py

clean:
	rm -rf $(VENV) *.egg-info
