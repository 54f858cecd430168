# A thin front for Meson: `make`, `make run`, `make test`. See README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan
LISTEN ?= 127.0.0.1:4566
DATA ?= ./.wharf

.PHONY: all deps run test bench bench-api bench-logs bench-registry bench-sched bench-tasks bench-network clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

deps:
	scripts/deps

run: deps all
	$(BUILD)/wharfd --listen $(LISTEN) --data-dir $(DATA)

# Unit tests run under ASan+UBSan; e2e tests drive the optimized daemon with real clients.
test: deps
	scripts/test

# Benchmarks print figures side by side with their peers; they assert nothing.
bench: bench-api bench-logs bench-registry bench-sched bench-tasks bench-network

bench-api: deps all
	WHARFD=$(BUILD)/wharfd bench/api/run

bench-logs: deps all
	WHARFD=$(BUILD)/wharfd bench/logs/run

bench-registry: deps all
	WHARFD=$(BUILD)/wharfd bench/registry/run

bench-sched: deps all
	BUILD=$(BUILD) bench/sched/run

# Root: real containers and CNI networking.
bench-tasks: deps all
	WHARFD=$(BUILD)/wharfd bench/tasks/run

bench-network: deps all
	BUILD=$(BUILD) bench/network/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
