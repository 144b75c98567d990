# SPDX-License-Identifier: MIT
# df11fs - one non-recursive Makefile. `make help` lists the targets.

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
PKGS     := jansson liblz4 libxxhash libcrypto
WERROR   ?=
SAN      ?=

OPT      ?= -O2 -g
override CFLAGS += $(OPT) -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla -D_FILE_OFFSET_BITS=64 \
            -D_GNU_SOURCE -pthread -I. $(WERROR) $(SAN)
override CFLAGS += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ljansson -llz4 -lxxhash -lcrypto) -lpthread -lm
LDFLAGS  += $(SAN)

CODEC_SRC := $(wildcard codec/*.c)
CODEC_OBJ := $(CODEC_SRC:%.c=$(BUILD)/%.o)
CODEC_LIB := $(BUILD)/libdf11codec.a

OFF_SRC   := $(wildcard official/*.c)
OFF_OBJ   := $(OFF_SRC:%.c=$(BUILD)/%.o)
OFF_LIB   := $(BUILD)/libdf11official.a

STORE_SRC := $(wildcard store/*.c)
STORE_OBJ := $(STORE_SRC:%.c=$(BUILD)/%.o)
STORE_LIB := $(BUILD)/libdf11store.a

CACHE_SRC := $(wildcard cache/*.c)
CACHE_OBJ := $(CACHE_SRC:%.c=$(BUILD)/%.o)
CACHE_LIB := $(BUILD)/libdf11cache.a
FS_SRC    := $(wildcard fs/*.c)
FS_OBJ    := $(FS_SRC:%.c=$(BUILD)/%.o)
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3)

TOOL_SRC  := $(wildcard tools/*.c)
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/%.o)
GEN_SRC   := $(wildcard tests/gen/*.c)
GEN_OBJ   := $(GEN_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_HELP := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay_%)
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/tests/bench_%)

BINS := $(BUILD)/df11 $(BUILD)/df11-genmodel $(BUILD)/df11fs
TEST_BINS := $(BUILD)/tests/mkofficial $(BUILD)/libdf11gpu-emu.so \
             $(BUILD)/tests/mkhostile $(BUILD)/tests/starve

.PHONY: all help check unit fuzz-replay bats manlint asan tsan fuzz bench demo \
        official-flips \
        install uninstall clean deps format
.DEFAULT_GOAL := all

## all: build df11fs, the df11 tool and the test-model generator
all: $(BINS)

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(CODEC_LIB): $(CODEC_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(OFF_LIB): $(OFF_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(STORE_LIB): $(STORE_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(CACHE_LIB): $(CACHE_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/fs/%.o: fs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FUSE_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/df11fs: $(FS_OBJ) $(CACHE_LIB) $(STORE_LIB) $(OFF_LIB) $(CODEC_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(FUSE_LIBS) $(LDLIBS)

$(BUILD)/df11: $(TOOL_OBJ) $(STORE_LIB) $(OFF_LIB) $(CODEC_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/df11-genmodel: $(GEN_OBJ) $(CODEC_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(UNIT_HELP:%.c=$(BUILD)/%.o) $(CACHE_LIB) $(STORE_LIB) $(OFF_LIB) $(CODEC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(OFF_LIB) $(CODEC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# tests/official/mkofficial*.c write synthetic official DFloat11 directories
MKOFF_SRC := $(wildcard tests/official/*.c)
$(BUILD)/tests/mkofficial: $(MKOFF_SRC:%.c=$(BUILD)/%.o) $(OFF_LIB) $(CODEC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# tests/hostile/mkhostile.c writes hostile containers (sparse, huge, many)
$(BUILD)/tests/mkhostile: $(BUILD)/tests/hostile/mkhostile.o $(CODEC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# tests/hostile/starve.c: pread and mmap readers of one file, timed
$(BUILD)/tests/starve: $(BUILD)/tests/hostile/starve.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread

$(BUILD)/tests/bench_%: $(BUILD)/tests/bench/%.o $(OFF_LIB) $(CODEC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# tests/bench/memfuse.c: a FUSE file served from memory (libfuse only)
$(BUILD)/tests/bench/memfuse.o: tests/bench/memfuse.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FUSE_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/bench_memfuse: $(BUILD)/tests/bench/memfuse.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(FUSE_LIBS) -lpthread

# tests/fuzz/replay.c is the main() that replays a corpus without libFuzzer
$(BUILD)/tests/fuzz/replay.o: tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

## deps: install the Debian packages the build and tests need (root)
deps:
	@tests/deps.sh

## check: build with -Werror and run unit tests, fuzz corpus replay, bats tests, man lint
check:
	@tests/deps.sh
	$(MAKE) WERROR=-Werror all $(UNIT_BIN) $(FUZZ_REPLAY) $(TEST_BINS)
	$(MAKE) WERROR=-Werror unit fuzz-replay bats manlint

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

fuzz-replay: $(FUZZ_REPLAY) $(BUILD)/tests/mkhostile
	@set -e; for t in $(FUZZ_REPLAY); do n=$${t##*/replay_}; \
	  echo "== $$n corpus"; $$t tests/fuzz/corpus/$$n; done
	@tests/fuzz/seeds.sh $(BUILD)/tests/mkhostile $(BUILD)/fuzz-seeds
	@echo "== fuzz_container seeds written at test time"
	@$(BUILD)/tests/replay_fuzz_container $(BUILD)/fuzz-seeds

bats: $(BINS) $(TEST_BINS)
	@BUILD=$(abspath $(BUILD)) bats tests/bats

manlint:
	@set -e; for m in man/*.1; do [ -e "$$m" ] || continue; \
	  echo "== mandoc -Tlint $$m"; mandoc -Tlint -W warning $$m; done

## asan: run the whole test suite under AddressSanitizer and UBSan
asan:
	$(MAKE) BUILD=build-asan CC=clang \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  OPT="-O1 -g" check

## tsan: unit tests and bats tests (mounts included) under ThreadSanitizer
# Every report fails the run: each goes to build-tsan/tsan.PID, printed at
# the end; a unit test, df11 or df11fs that reported one also exits 66,
# which fails its test. tests/tsan.supp says why each suppression is
# harmless.
TSAN_SAN := -fsanitize=thread -fno-omit-frame-pointer
TSAN_ENV := suppressions=$(abspath tests/tsan.supp) second_deadlock_stack=1 \
            log_path=$(abspath build-tsan)/tsan
tsan:
	$(MAKE) BUILD=build-tsan CC=clang SAN="$(TSAN_SAN)" OPT="-O1 -g" \
	  WERROR=-Werror all $(UNIT_BIN:$(BUILD)/%=build-tsan/%) \
	  $(TEST_BINS:$(BUILD)/%=build-tsan/%)
	@rm -f build-tsan/tsan.*; st=0; \
	TSAN_OPTIONS="$(TSAN_ENV) $(TSAN_OPTIONS)" $(MAKE) BUILD=build-tsan \
	  CC=clang SAN="$(TSAN_SAN)" OPT="-O1 -g" WERROR=-Werror unit bats || \
	  st=1; \
	for r in build-tsan/tsan.*; do [ -e "$$r" ] || continue; \
	  echo "== ThreadSanitizer: $$r"; cat "$$r"; st=1; done; exit $$st

## fuzz: build libFuzzer targets (clang) and fuzz each for FUZZ_SECONDS (60)
FUZZ_SECONDS ?= 60
fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

## bench: decode/compress throughput next to memcpy (needs no GPU)
bench: $(BINS) $(BENCH_BIN)
	@tests/bench/run.sh $(abspath $(BUILD))

## official-flips: what one flipped bit does to an official directory, per
## stream (tests/hostile/official_flips.sh; FLIPS="-n 300 -s 2" to change)
FLIPS ?=
official-flips: $(BUILD)/df11
	@tests/hostile/official_flips.sh -b $(BUILD) $(FLIPS)

## demo: install deps, build, generate a model, compress, decompress, compare sha256
demo:
	@tests/deps.sh
	$(MAKE) all
	@tests/demo.sh $(abspath $(BUILD))

## install: install df11, df11fs, the GPU library (when built), the man pages
## and the mount helper link (SBINDIR=, empty to skip; default /sbin as root)
LIBDIR   ?= $(PREFIX)/lib
SBINDIR  ?= $(if $(filter 0,$(shell id -u)),/sbin)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/df11 $(BUILD)/df11fs $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	$(if $(wildcard $(GPU_SO)),install -d $(DESTDIR)$(LIBDIR)/df11fs && \
	  install -m 755 $(GPU_SO) $(DESTDIR)$(LIBDIR)/df11fs/)
	$(if $(SBINDIR),install -d $(DESTDIR)$(SBINDIR) && \
	  ln -sf $(PREFIX)/bin/df11fs $(DESTDIR)$(SBINDIR)/mount.fuse.df11fs)

## uninstall: remove what install put in place
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/df11 $(DESTDIR)$(PREFIX)/bin/df11fs \
	  $(DESTDIR)$(LIBDIR)/df11fs/libdf11gpu.so \
	  $(DESTDIR)$(PREFIX)/share/man/man1/df11.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man1/df11fs.1
	$(if $(SBINDIR),rm -f $(DESTDIR)$(SBINDIR)/mount.fuse.df11fs)
	-rmdir $(DESTDIR)$(LIBDIR)/df11fs 2>/dev/null

## format: clang-format every C source in place
format:
	clang-format -i $$(git ls-files '*.c' '*.h')

## clean: remove build outputs
clean:
	rm -rf build build-asan build-tsan build-fuzz

# ------------------------------------------------------------ GPU (begin)
# gpu/: the CUDA decoder. gpu/gpu.c (plain C: it dlopen()s the CUDA part)
# is always built, into $(GPU_HOST_LIB). $(GPU_SO) needs nvcc:
#   GPU=auto  build it when nvcc is found (default)
#   GPU=1     require nvcc          GPU=0  never build it
# The .so carries machine code for sm_80/86/89/90 and PTX for newer GPUs,
# and links the CUDA runtime statically: it needs only the driver.
GPU       ?= auto
ifeq ($(origin NVCC),undefined)
NVCC      := $(firstword $(shell command -v nvcc 2>/dev/null) \
                         $(wildcard /usr/local/cuda/bin/nvcc))
endif
NVCCFLAGS ?= -O3
GPU_ARCH  := -gencode arch=compute_80,code=sm_80 \
             -gencode arch=compute_86,code=sm_86 \
             -gencode arch=compute_89,code=sm_89 \
             -gencode arch=compute_90,code=sm_90 \
             -gencode arch=compute_90,code=compute_90
GPU_CU    := $(wildcard gpu/*.cu)
GPU_SO    := $(BUILD)/libdf11gpu.so
GPU_HOST_OBJ := $(BUILD)/gpu/gpu.o
GPU_HOST_LIB := $(BUILD)/libdf11gpuhost.a
GPU_TEST  := $(BUILD)/tests/test_gpu $(BUILD)/tests/bench_gpu
ifeq ($(GPU),1)
ifeq ($(NVCC),)
$(error GPU=1 but nvcc was not found (set NVCC=/path/to/nvcc))
endif
GPU_BUILD := 1
else ifeq ($(GPU),auto)
GPU_BUILD := $(if $(NVCC),1)
endif

.PHONY: gpu gpucheck gpu-emu gpu-clean
## gpu: build libdf11gpu.so (needs nvcc) and the GPU test and benchmark
gpu: $(if $(GPU_BUILD),$(GPU_SO)) $(GPU_TEST)

## gpucheck: on a GPU machine, build and run tests/gpu/run.sh (tests, bench)
gpucheck:
	@tests/gpu/run.sh

all: $(if $(GPU_BUILD),$(GPU_SO)) $(GPU_HOST_LIB)

$(GPU_SO): $(GPU_CU) $(wildcard gpu/*_i.h) gpu/gpu.h codec/df11.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -std=c++17 -I. -Xcompiler -fPIC \
	  -Xcompiler -fvisibility=hidden -Xcompiler -Wall -shared \
	  -cudart static -Xlinker --exclude-libs,ALL --threads 0 \
	  $(GPU_ARCH) -o $@ $(GPU_CU)

# the same sources on the CPU (gpu/emu_i.h): test_gpu runs without a GPU
GPU_EMU_SO := $(BUILD)/libdf11gpu-emu.so
CXX_EMU   ?= $(if $(filter clang,$(CC)),clang++,g++)
$(GPU_EMU_SO): $(GPU_CU) gpu/emu.cc $(wildcard gpu/*_i.h) gpu/gpu.h codec/df11.h
	@mkdir -p $(dir $@)
	$(CXX_EMU) -std=c++17 -O1 -g -DDF11_EMU -I. -fPIC -shared \
	  -fvisibility=hidden -fno-strict-aliasing -Wall -Wno-unknown-pragmas \
	  $(EMU_SAN) -o $@ -x c++ $(GPU_CU) -x none gpu/emu.cc

## gpu-emu: run tests/gpu/test_gpu on a CPU emulation of the GPU (minutes)
gpu-emu: $(GPU_EMU_SO) $(BUILD)/tests/test_gpu
	DF11_GPU_LIB=$(abspath $(GPU_EMU_SO)) $(BUILD)/tests/test_gpu -q

clean: gpu-clean
gpu-clean:
	rm -rf build-gpu

$(GPU_HOST_LIB): $(GPU_HOST_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# df11fs, the unit tests (the cache opens the GPU) and the GPU tests link
# gpu.c before the codec it calls
$(BUILD)/df11fs $(UNIT_BIN): $(GPU_HOST_LIB)
$(BUILD)/df11fs $(UNIT_BIN): LDLIBS := $(GPU_HOST_LIB) $(STORE_LIB) $(OFF_LIB) $(CODEC_LIB) $(LDLIBS) -ldl

$(BUILD)/tests/test_gpu: $(BUILD)/tests/gpu/test_gpu.o $(GPU_HOST_LIB) $(OFF_LIB) $(CODEC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ldl

$(BUILD)/tests/bench_gpu: $(BUILD)/tests/gpu/bench_gpu.o $(GPU_HOST_LIB) $(OFF_LIB) $(CODEC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ldl
# -------------------------------------------------------------- GPU (end)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
