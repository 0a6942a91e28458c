# The two commands of the README:
#   make demo   install everything and render the demo clip on the bundled avatar
#   make test   install everything and run the whole test suite
# Everything is installed into the active Python (use a venv if you prefer: PYTHON=.venv/bin/python).
# dhsdk runs as `$(PYTHON) -m dhsdk.cli`: the entry point of that interpreter, whatever is on PATH.
PYTHON ?= python3
PIP := $(PYTHON) -m pip
DHSDK := $(PYTHON) -m dhsdk.cli
BUILD_TOOLS := setuptools wheel pybind11 cmake ninja

.PHONY: all deps system-deps build test demo bench clean obs-plugin

all: deps

system-deps:
	bash scripts/install-system-deps.sh

# torch is pinned to the CPU build first so the 'train' extra never pulls a CUDA build.
deps: system-deps
	$(PIP) install -q $(BUILD_TOOLS)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q --no-build-isolation -e '.[train,live,openai,dali,serve,ray,dev]'

# Incremental rebuild of dhsdk._C in place (developers); serialised with a lock file.
build:
	flock build.lock $(PYTHON) setup.py -q build_ext --inplace

# The OBS source plugin (needs libobs-dev); see README "OBS plugin" for installing it into OBS.
obs-plugin:
	cmake -S obs-plugin -B build/obs-plugin -DCMAKE_BUILD_TYPE=Release
	cmake --build build/obs-plugin -j2

test: deps
	$(PYTHON) -m pytest

DEMO_TEXT ?= Hello everyone, welcome to our live room! This silk summer dress is only nineteen ninety-nine today. It comes in four sizes, and every order ships tomorrow. Tap the cart to grab yours!

demo: deps
	mkdir -p out
	$(DHSDK) render --avatar default --text "$(DEMO_TEXT)" -o out/demo.mp4 --contact out/demo_contact.png
	@echo "demo video:    $(CURDIR)/out/demo.mp4"
	@echo "contact sheet: $(CURDIR)/out/demo_contact.png"

# Every stage + end to end, with baselines: results/*.json, *.md and plots (~2-5 min on 2 cores).
bench: deps
	$(DHSDK) bench --out results

clean:
	rm -rf build dist *.egg-info dhsdk/_C*.so out results
