# The two commands README.md opens with: `make demo` and `make test`.
# Everything installs what is missing first (Debian packages, via scripts/install-deps.sh).
# TLS=openssl (default) or TLS=boringssl: the TLS library is a build choice, and each
# choice builds into its own folder (build, build-boringssl).
TLS         ?= openssl
BUILD       ?= build$(if $(filter-out openssl,$(TLS)),-$(TLS))
BUILD_TYPE  ?= Release
JOBS        ?= $(shell nproc)
CMAKE_FLAGS ?=
WERROR      ?= $(if $(CI),ON,OFF)

PREFIX      ?= /usr/local

.PHONY: install all deps build demo bench-peers profile test unit integration bench fuzz sanitize tsan clean

all: build

deps:
	@TLS=$(TLS) bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTLSRESUME_WERROR=$(WERROR) -DTLSRESUME_TLS=$(TLS) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The binary, tlsresume(1), the example config and the systemd unit under $(PREFIX)
# (DESTDIR=/tmp/stage for packaging).
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The main job on embedded defaults: no config, no Redis. Builds only the binary it runs,
# not the tests and micro-benchmarks.
demo: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target tlsresume
	@bash scripts/demo.sh $(BUILD)/tlsresume

# The same report with ours on both TLS libraries, nginx and HAProxy (Debian packages) and
# the TCP floor measured back to back, rounds interleaved: builds the other library's
# binary too (build-boringssl/tlsresume beside build/, or the reverse with TLS=boringssl);
# if that build fails, the run goes on and its cells say how to build it.
OTHER_TLS   = $(if $(filter openssl,$(TLS)),boringssl,openssl)
OTHER_BUILD = build$(if $(filter-out openssl,$(OTHER_TLS)),-$(OTHER_TLS))
bench-peers: build
	-$(MAKE) build TLS=$(OTHER_TLS) BUILD=$(OTHER_BUILD)
	$(BUILD)/tlsresume bench --target self,self-$(OTHER_TLS),nginx,haproxy,tcp-floor --other-build $(OTHER_BUILD)/tlsresume --pin --floor --rounds 3 --duration 4 --json out/bench-peers/bench.json --report out/bench-peers

# README's benchmark table and its ratios, regenerated from the run committed beside it
# (cp out/bench-peers/bench.json docs/bench/readme.json after a bench-peers run).
.PHONY: readme-table
readme-table:
	python3 scripts/readme_table.py --json docs/bench/readme.json --readme README.md

# Where a handshake's work goes: instructions by library and syscalls per connection,
# ours and nginx's, counted (callgrind, strace) rather than timed.
profile: build
	TLSRESUME_BIN=$(BUILD)/tlsresume python3 bench/handshake_profile.py --nginx --haproxy -s session-id,ticket-tls12,ticket-tls13 --json out/profile/profile.json

# Every test: unit (GoogleTest) and integration (real binary, real clients).
test: build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 900

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

bench: build
	$(BUILD)/store_bench --benchmark_min_time=0.2
	$(BUILD)/ticket_bench --benchmark_min_time=0.2
	TLSRESUME_BIN=$(BUILD)/tlsresume python3 bench/psk_modes_cpu.py

# libFuzzer targets (clang, ASan+UBSan), each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 30
FUZZ_BUILD   = build-fuzz$(if $(filter-out openssl,$(TLS)),-$(TLS))
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DTLSRESUME_FUZZ=ON -DBUILD_TESTING=OFF -DTLSRESUME_TLS=$(TLS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	@bash scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Unit + integration tests under ASan+UBSan; the engine's concurrency tests under TSan.
sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTLSRESUME_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j 2

tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DTLSRESUME_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS) --target unit_tests
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -L unit

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) build-asan build-tsan
