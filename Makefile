# kamado — the two commands a new machine needs are `make serve` and `make test`.
# Every target installs what is missing first (Debian packages, the default
# models, test data), so each works on a fresh Debian 12 machine as root.

BUILD ?= build
BUILD_TYPE ?= Release
MODEL ?= models/inception_v3

.PHONY: all deps configure build models test-data test test-asan test-tsan fuzz serve image clean

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

# The image to ship, localhost/kamado:latest (deploy/image/Containerfile): a debootstrap
# base, a build stage and a runtime stage with only the runtime libraries and the default
# models. Minutes; docs/DEPLOY.md has its time and size. The container tests in `make test`
# use a seconds-long image of the built binary instead (scripts/test-image.sh).
image: models
	bash scripts/make-image.sh

# Models, photos, the TF.js reference tensors and the cached reference outputs.
test-data: models
	bash scripts/prepare-test-data.sh

# KAMADO_REQUIRE_TEST_DATA turns "data missing" skips into failures: CI must
# never pass by skipping. Passive OpenMP waiting keeps a shared 2-core
# machine from spinning threads against each other while tests run; two
# tests at a time (no test asserts a timing, and each takes its own port).
test: build test-data
	KAMADO_REQUIRE_TEST_DATA=1 OMP_WAIT_POLICY=passive \
	  ctest --test-dir $(BUILD) --output-on-failure -j2
	$(MAKE) test-asan
	$(MAKE) test-tsan
	bash fuzz/run.sh 6

# ASan + UBSan on the image decoders and the bad-input corpus, and on the
# server: the scheduler, the HTTP server and the service over real loopback
# requests (the hardening tests included). -O0 -g0: Beast under UBSan takes
# minutes to compile at -O1 -g (reports still name the functions; rebuild
# with -g for lines). Debian's oneDNN is not instrumented; its allocations
# are not checked. One intra-op thread, as under TSan. The sanitizers replace
# glibc malloc, so the test of memory given back to the system (mallopt,
# malloc_trim) runs in the plain build only: SANITIZER_FILTER leaves it out.
SANITIZER_FILTER := --gtest_filter=-*MemoryIsGivenBack*
# The layers neither sanitizer build tests, taken from the Release build
# rather than compiled a third and fourth time (see KAMADO_PREBUILT in
# CMakeLists.txt): the IR, the importers and the passes run once at load.
PREBUILT := -DKAMADO_PREBUILT=$(CURDIR)/$(BUILD) '-DKAMADO_PREBUILT_LAYERS=kamado_ir;kamado_importers;kamado_passes'
ASAN_BUILD ?= build-asan
ASAN_TESTS := image_decode_test serving_unit_test serving_http_test
test-asan: build test-data
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g0" -DKAMADO_SANITIZE=address -DKAMADO_BUILD_BENCH=OFF $(PREBUILT)
	cmake --build $(ASAN_BUILD) --target $(ASAN_TESTS)
	set -e; for t in tests/image/image_decode_test tests/serving/serving_unit_test \
	    tests/serving/serving_http_test; do \
	  OMP_NUM_THREADS=1 KAMADO_REQUIRE_TEST_DATA=1 \
	    ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(ASAN_BUILD)/$$t --gtest_brief=1 $(SANITIZER_FILTER); \
	done

# ThreadSanitizer on what runs concurrently: many Sessions on one
# CompiledModel, the scheduler, the HTTP server (real requests on loopback,
# the default MobileNetV2), the load generator and serve --mirror's Mirror. One intra-op thread per
# session: Debian's oneDNN and libgomp are not instrumented, and with one
# OpenMP thread they start none. -O1 without NDEBUG, so assertions run too;
# -g0: debug info doubled the build (reports still name the functions).
# tests/tsan.supp holds suppressions for those libraries only.
TSAN_BUILD ?= build-tsan
TSAN_TESTS := runtime_concurrency_test serving_unit_test serving_http_test load_generator_test shadow_test
test-tsan: build test-data
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g0" -DKAMADO_SANITIZE=thread -DKAMADO_BUILD_BENCH=OFF $(PREBUILT)
	cmake --build $(TSAN_BUILD) --target $(TSAN_TESTS)
	set -e; for t in tests/runtime/runtime_concurrency_test tests/serving/serving_unit_test \
	    tests/serving/serving_http_test tests/perf/load_generator_test tests/shadow/shadow_test; do \
	  OMP_NUM_THREADS=1 KAMADO_REQUIRE_TEST_DATA=1 \
	    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	    $(TSAN_BUILD)/$$t --gtest_brief=1 $(SANITIZER_FILTER); \
	done

# libFuzzer (clang-14) on each decoder and on bytes -> tensor; FUZZ_SECONDS each.
FUZZ_SECONDS ?= 300
fuzz: deps
	bash fuzz/run.sh $(FUZZ_SECONDS)

# The HTTP server with the default model on 127.0.0.1:8080 (Ctrl-C drains and
# stops it). The sample photos are fetched too, for trying it with curl.
HOST ?= 127.0.0.1
PORT ?= 8080
serve: build models
	bash scripts/fetch-test-images.sh
	$(BUILD)/kamado serve --model $(MODEL) --host $(HOST) --port $(PORT)

clean:
	rm -rf $(BUILD)
