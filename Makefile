# A thin front for Meson: `make`, `make run`, `make test`. See README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan
LISTEN ?= 127.0.0.1:4566
DATA ?= ./.wharf

.PHONY: all deps run test unit e2e bench clean

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

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
