# The two README commands: `make demo` (set up + run the main job on embedded defaults) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
LS_VENV ?= .venv-ls
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)
export NERLOOP_HOME := $(CURDIR)
export STATE_DIR ?= $(CURDIR)/.state
export AIRFLOW_HOME ?= $(STATE_DIR)/airflow
export AIRFLOW_CONFIG ?= $(CURDIR)/airflow.cfg
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export LS_VENV

.PHONY: venv ls-venv demo test lint db-up down status clean airflow bench-webhook bench-prelabel bench-ls-import bench-train bench-bootstrap bench-sme-loop bench-int8 bench-triton-protocols bench-spark bench-tables lineage

venv:
	@bash scripts/setup_venv.sh $(VENV)

ls-venv:
	@bash scripts/setup_ls_venv.sh $(LS_VENV)

demo: venv ls-venv
	$(PY) -m devstack.cli demo

# The suite runs in random order (pytest-randomly; the seed is printed in the header): replay one with
# `make test PYTEST_ARGS="-p randomly --randomly-seed=N"`, keep file order with PYTEST_ARGS="-p no:randomly".
PYTEST_ARGS ?= -p randomly
test: venv
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache

db-up: venv
	$(PY) -m devstack.cli db up

down: venv
	$(PY) -m devstack.cli down

status: venv
	$(PY) -m devstack.cli status

# The airflow CLI with the demo's environment (its AIRFLOW_HOME, config, metadata database, connections):
# `make airflow ARGS="dags trigger nightly_train_publish"`.
airflow: venv
	$(PY) -m devstack.cli airflow $(ARGS)

clean: down
	rm -rf $(STATE_DIR)

bench-webhook: venv
	$(PY) bench/webhook_load.py --events 5000 --senders 4

# Table fidelity of the extractor on a folder of documents with their expected tables in expected/:
# `make bench-tables DIR=<folder>` (no default: the development corpus lives outside the repo).
bench-tables: venv
	@test -n "$(DIR)" || { echo "usage: make bench-tables DIR=<folder of documents with expected/>"; exit 2; }
	$(PY) bench/table_fidelity.py "$(DIR)"

bench-prelabel: venv
	$(PY) bench/prelabel_throughput.py --rows 20000

bench-ls-import: venv ls-venv
	$(PY) bench/ls_import.py --tasks 1000

bench-train: venv
	$(PY) bench/train_quality.py --fractions 0.25 0.5 1 --lr 1e-4 --epochs 6 --patience 2 --freeze-embeddings

# Builds a bootstrap bundle in $(STATE_DIR)/bench-bootstrap (kept), then scores it on generated held-out documents.
bench-bootstrap: venv
	@[ -f $(STATE_DIR)/bench-bootstrap/onnx/VERSION.json ] || $(PY) -m include.workflows.training.bootstrap --out $(STATE_DIR)/bench-bootstrap
	$(PY) bench/bootstrap_quality.py --bundle $(STATE_DIR)/bench-bootstrap

# SMEs simulated on a domain the bootstrap never saw: WNUT-17 (the bootstrap is built without it), gold fed
# through the shim's applier, the nightly DAG's task functions at each step. Any CoNLL corpus:
# `make bench-sme-loop CORPUS=<dir with train.txt, test.txt> LABEL_MAP=PER=PERSON,ORG=ORG,LOC=LOCATION`.
WNUT17_CORPUS := $(STATE_DIR)/wnut17-corpus
CORPUS ?= $(WNUT17_CORPUS)
LABEL_MAP ?= person=PERSON,location=LOCATION,corporation=ORG,group=ORG,product=PRODUCT
ORDER ?= random
bench-sme-loop: venv
	@mkdir -p $(WNUT17_CORPUS)
	@cp include/data/wnut17/wnut17train.conll $(WNUT17_CORPUS)/train.txt
	@cp include/data/wnut17/emerging.test.annotated $(WNUT17_CORPUS)/test.txt
	$(PY) bench/sme_loop.py --corpus $(CORPUS) --label-map $(LABEL_MAP) --order $(ORDER) --steps 50 100 200 400 800

# fp32 and the int8 flavour side by side (20,000 rows in process; Triton with the batches it formed) on the
# bench-bootstrap bundle, built first when missing.
bench-int8: venv
	@[ -f $(STATE_DIR)/bench-bootstrap/onnx/VERSION.json ] || $(PY) -m include.workflows.training.bootstrap --out $(STATE_DIR)/bench-bootstrap
	$(PY) bench/prelabel_throughput.py --rows 20000 --chunks 10 --precision both --bundle $(STATE_DIR)/bench-bootstrap
	$(PY) bench/prelabel_triton.py --rows 400 --repeats 3 --precision both --bundle $(STATE_DIR)/bench-bootstrap --protocol grpc

bench-triton-protocols: venv
	$(PY) bench/triton_protocols.py --rows 600

bench-spark: venv
	$(PY) bench/spark_vs_pandas.py --rows 1000000 --master 'local[2]'

lineage: venv
	$(PY) -m devstack.cli lineage $(ID)
