# edgeconv: the two quickstart commands are `make demo` and `make test` (see README.md).
# Each creates what it needs from scratch on first use: .venv (workstation) and .venv-device (device side).

PYTHON ?= python3.11
VENV ?= .venv
DEVICE_VENV ?= .venv-device
# The CPU build of torch. Elsewhere add e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
DEMO_DIR ?= runs/demo
# pytest-xdist workers of the workstation suite: each test file runs on one worker, so that its module fixtures
# are made once, and each worker keeps to a core of its own (tests/conftest.py). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2

.PHONY: demo test lint install wheel device-install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(VENV)/bin/pip install --quiet -e '.[all,test]'
	$(VENV)/bin/pip check
	touch $@

# The wheel a board installs (never an editable checkout, which would hide a module left out of the wheel),
# built from the sdist as pip builds it for a user without a wheel. The tests use these two files (EDGECONV_DIST)
# rather than building their own: one build per run.
wheel: $(VENV)/.installed
	rm -rf dist build *.egg-info  # stale build output would slip into the wheel
	$(VENV)/bin/python -m build --outdir dist . > /dev/null

# The device side as a Raspberry Pi gets it: edgeconv's wheel with the three runtimes, and no torch, onnx,
# tensorflow, jax or nncf. Rebuilt by every `make test`, so the device tests always run the current wheel.
device-install: wheel
	rm -rf $(DEVICE_VENV)
	$(PYTHON) -m venv $(DEVICE_VENV)
	$(DEVICE_VENV)/bin/pip install --quiet --upgrade pip
	$(DEVICE_VENV)/bin/pip install --quiet "$$(ls dist/edgeconv-*.whl)[onnx,litert,openvino]" pytest "hypothesis>=6.100"
	@for pkg in torch onnx tensorflow jax nncf; do \
		! $(DEVICE_VENV)/bin/python -c "import $$pkg" 2>/dev/null || { echo "$$pkg leaked into the device venv"; exit 1; }; \
	done
	cd / && $(CURDIR)/$(DEVICE_VENV)/bin/python -c \
		"import edgeconv, importlib.util as u; assert 'site-packages' in edgeconv.__file__ and u.find_spec('edgeconv.sweep')"
	$(DEVICE_VENV)/bin/edgeconv sweep --help > /dev/null

install: $(VENV)/.installed

# The main job: the most accurate MobileNetV2 width (at 64 or 48 px) whose p90 latency on this machine meets
# the budget, trained on the built-in digits; then the report.
demo: $(VENV)/.installed
	$(VENV)/bin/edgeconv sweep --model mobilenetv2 --data digits --width-range 0.25:1.0 --resolutions 64,48 --format onnx --precision fp32 --threads 1 --budget-ms 1.0 --epochs 8 --out $(DEMO_DIR)
	$(VENV)/bin/edgeconv report --sweep $(DEMO_DIR) --out $(DEMO_DIR)/report.html

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python .ci/typecheck.py

# Lint, the whole suite on the workstation (TEST_WORKERS processes), then the device tests in the torch-free
# venv installed from the wheel (its pytest script, not `python -m pytest`, so that the checkout is not on
# sys.path).
test: lint device-install
	EDGECONV_DIST=$(CURDIR)/dist $(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile
	$(DEVICE_VENV)/bin/pytest tests/runtime

clean:
	rm -rf $(VENV) $(DEVICE_VENV) dist build runs .pytest_cache .mypy_cache .ruff_cache
