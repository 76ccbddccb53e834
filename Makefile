# The two commands: `make run` and `make test`. Everything else is a helper.
BUILD_DIR   ?= build
ASAN_DIR    ?= build-asan
BUILD_TYPE  ?= Release
JOBS        ?= $(shell nproc)
# ctest runs twice as many tests as cores: most tests wait on servers, subprocesses and back-offs
# rather than compute (decision 0071). `make test TEST_JOBS=2` for the old behaviour.
TEST_JOBS   ?= $(shell echo $$(( $$(nproc) * 2 )))
CMAKE_FLAGS ?=

.PHONY: all deps configure build run serve migrate test test-asan bench format format-check clean docs

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Installs, builds, migrates the embedded SQLite default (./var/jarvis.db) and serves.
run: build
	@mkdir -p var
	$(BUILD_DIR)/bin/jarvis migrate
	exec $(BUILD_DIR)/bin/jarvis serve --no-migrate

migrate: build
	@mkdir -p var
	$(BUILD_DIR)/bin/jarvis migrate

# Installs, builds and runs every test (unit, integration, PostgreSQL, end-to-end). A failed run
# ends with the failed tests' recorded output and the machine's state (scripts/ctest-failures.sh).
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(TEST_JOBS) || \
	  { $(CURDIR)/scripts/ctest-failures.sh . ; exit 8; }

test-asan: deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DJARVIS_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS) || \
	  { $(CURDIR)/scripts/ctest-failures.sh . ; exit 8; }

bench: build
	./bench/http.sh

docs: build
	$(BUILD_DIR)/bin/jarvis routes --markdown > docs/api-reference.md

format:
	find host sdk plugins tests bench \( -name "*.cpp" -o -name "*.h" \) | xargs clang-format -i

format-check:
	find host sdk plugins tests bench \( -name "*.cpp" -o -name "*.h" \) | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)

# Operator checks (docs/runbook.md: "Local Setup Smoke Validation", "Secret Rotation and Scan",
# "Release Evidence"; decisions 0059-0062). They use $(BUILD_DIR)/bin/jarvis; setup-smoke reports a
# missing binary with its fix, the others build it first when it is missing.
.PHONY: setup-smoke setup-smoke-running secret-scan release-evidence

setup-smoke:
	BUILD_DIR=$(BUILD_DIR) ./scripts/setup-smoke.sh

setup-smoke-running:
	BUILD_DIR=$(BUILD_DIR) ./scripts/setup-smoke.sh --running

secret-scan:
	@test -x $(BUILD_DIR)/bin/jarvis || $(MAKE) build
	$(BUILD_DIR)/bin/jarvis secrets scan

release-evidence:
	@test -x $(BUILD_DIR)/bin/jarvis || $(MAKE) build
	BUILD_DIR=$(BUILD_DIR) ./scripts/release-evidence.sh
