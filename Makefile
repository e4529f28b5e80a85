# Sealforge developer entry points. `make test` and `make run` build the venv on first use.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-slow coverage lint openapi screenshots bench clean verifier-kit image image-test image-bundle

install: $(STAMP)

# torch goes in first: the pinned CPU wheel lies on disk, and anything later that asks for torch
# is then already satisfied instead of pulling a multi-GB CUDA build.
$(STAMP): pyproject.toml offline_verify/pyproject.toml sdk/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ./offline_verify -e ./sdk -e '.[dev]'
	# Swagger UI and ReDoc assets, served locally (no CDN). Only static files are read.
	$(BIN)/python -m pip install -q --no-deps drf-spectacular-sidecar==2026.10.1
	touch $(STAMP)

# `make run HOST=192.168.10.5 PORT=8443 STATE_DIR=/srv/sealforge`: off loopback it serves HTTPS.
HOST ?= 127.0.0.1
PORT ?= 8080
STATE_DIR ?= ./var

run: $(STAMP)
	$(BIN)/sealforge serve --host $(HOST) --port $(PORT) --state-dir $(STATE_DIR)

# One pytest process per CPU (pytest-xdist); a single test file runs fine without `-n`. `loadgroup`:
# tests marked `heavy` go out first, and the tests sharing a module-scoped fixture are grouped on one
# worker (tests/conftest.py), so that fixture is built once. Groups need pytest < 9.2 (pyproject.toml,
# pytest-xdist#1386).
XDIST := -n auto --dist loadgroup

test: $(STAMP)
	$(BIN)/python -m pytest -q $(XDIST)

coverage: $(STAMP)
	$(BIN)/python -m pytest -q $(XDIST) --cov=appliance --cov=simulators --cov=offline_verify/src --cov-report=term:skip-covered

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q $(XDIST) --run-slow

lint: $(STAMP)
	$(BIN)/ruff check appliance simulators offline_verify sdk tests bench
	$(BIN)/mypy appliance simulators offline_verify/src sdk/src

openapi: $(STAMP)
	$(BIN)/sealforge openapi > openapi.json

# The web UI's pictures in docs/ui/ (docs/ui.md), taken by its browser tests at 1280x800.
screenshots: $(STAMP)
	SEALFORGE_SCREENSHOTS=docs/ui $(BIN)/python -m pytest -q -p no:cacheprovider tests/web/browser

# The auditor's kit: the verifier's wheel, the wheels it needs (blake3, cryptography and theirs) and
# its build requirements (setuptools, wheel), plus a README, so it installs with the network off:
# `pip install --no-index --find-links wheels sealforge-verify`. The wheels match this machine's
# Python and platform; for another, e.g. KIT_PIP_ARGS="--platform manylinux2014_x86_64 --python-version 3.10".
KIT_DIR ?= dist/verifier-kit
KIT_PIP_ARGS ?=

verifier-kit: $(STAMP)
	rm -rf $(KIT_DIR)
	mkdir -p $(KIT_DIR)/wheels
	$(BIN)/python -m pip wheel -q --no-deps -w $(KIT_DIR)/wheels ./offline_verify
	$(BIN)/python -m pip download -q --only-binary=:all: -d $(KIT_DIR)/wheels $(KIT_PIP_ARGS) \
		$(KIT_DIR)/wheels/sealforge_verify-*.whl "setuptools>=69" wheel
	cp offline_verify/kit/README.md $(KIT_DIR)/README.md
	cd $(KIT_DIR) && sha256sum wheels/* > SHA256SUMS
	@echo "verifier kit in $(KIT_DIR): copy it to the auditor's machine (see its README.md)"

# The signed OS image (docs/image.md): build/image/sealforge.{raw,qcow2}, the signed UKI and the
# signed manifest. Runs as root; packaging/image/deps.sh installs the Debian tools it uses.
image: $(STAMP)
	bash packaging/image/deps.sh
	PYTHON=$(BIN)/python bash packaging/image/build.sh

# Boots the image under qemu with Secure Boot enforced through systemd-boot: first boot, a job
# sealed, data kept; A/B updates with trial boot and rollback; an unenrolled key and a flipped root
# byte stop the boot. Builds the image first when build/image has none; prints each test's time.
image-test: $(STAMP)
	bash packaging/image/deps.sh
	test -f build/image/manifest.json || PYTHON=$(BIN)/python bash packaging/image/build.sh
	$(BIN)/python -m pytest -q -p no:cacheprovider --run-slow --durations=0 -n 0 tests/image

# A signed update bundle of the release in build/image (docs/image.md, "Updating"):
# build/image/sealforge-<serial>.sfbundle, signed with IMAGE_SIGNING_KEY (default: the test key).
image-bundle: $(STAMP)
	$(BIN)/python packaging/image/bundle.py build build/image build/image \
		--key $${IMAGE_SIGNING_KEY:-build/image/keys/release-test.pem}

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
