# kamado — the two commands a new machine needs are `make serve` and `make test`.
# Every target installs what is missing first (Debian packages, the default
# models, test data), so each works on a fresh Debian 12 machine as root.

BUILD ?= build
BUILD_TYPE ?= Release
MODEL ?= models/inception_v3

.PHONY: all deps configure build models test-data test serve clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD)

models: deps
	bash scripts/fetch-models.sh

# Models, photos, the TF.js reference tensors and the cached reference outputs.
test-data: models
	bash scripts/prepare-test-data.sh

# KAMADO_REQUIRE_TEST_DATA turns "data missing" skips into failures: CI must
# never pass by skipping. Passive OpenMP waiting keeps a shared 2-core
# machine from spinning threads against each other while tests run.
test: build test-data
	KAMADO_REQUIRE_TEST_DATA=1 OMP_WAIT_POLICY=passive \
	  ctest --test-dir $(BUILD) --output-on-failure

# Until the HTTP server lands: classify the sample photos with the default model.
serve: build models
	bash scripts/fetch-test-images.sh
	$(BUILD)/kamado infer --model $(MODEL) data/images/*.png data/images/*.jpg

clean:
	rm -rf $(BUILD)
