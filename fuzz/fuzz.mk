# libFuzzer harnesses for the parsers (fuzz/README.md). Included by the top-level Makefile.
#   make fuzz                  build, make seeds, run every target FUZZ_SECONDS (300) in turn
#   make fuzz FUZZ_TARGETS=gguf FUZZ_SECONDS=60
#   make fuzz-build            just the binaries: build/fuzz/bin/fuzz_<target>
#   make fuzz-seeds            just the seeds:    build/fuzz/seeds/<target>/, build/fuzz/data/
# Everything goes to build/fuzz/ (own objects, never build/obj or bin/). Needs clang with
# libFuzzer (clang 14 here); the tests' smoke run is tests/test_fuzz_smoke.sh.

FUZZ_TARGETS ?= amzscan safetensors gguf config items samples ranked prompts bpe bpe_load
FUZZ_SECONDS ?= 300
FUZZ_CC      ?= clang
FUZZ_CXX     ?= clang++
FUZZ_DIR     ?= build/fuzz
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_COMMON   = -g -O1 -fopenmp -Wno-pass-failed $(FUZZ_SAN) $(LIB_INC) -I/usr/include/cjson
FUZZ_CFLAGS   = $(FUZZ_COMMON) -std=gnu11 -Wall -Wno-unknown-pragmas -Wno-pass-failed
# die() leaves a parser by longjmp; fuzz_common.c reclaims what it held, so these calls are
# routed through it (mappings, FILEs, compiled PCRE2 patterns; bpe_encode's caches are exempt)
FUZZ_WRAP     = -Wl,--wrap=mmap,--wrap=munmap,--wrap=fopen,--wrap=fclose,--wrap=pcre2_compile_8,--wrap=pcre2_code_free_8,--wrap=bpe_encode
# the harnesses are CPU-only: the CUDA twin's stand-in, whatever the main build links
FUZZ_LIB_C    = $(filter-out tools/lib/llm/model_cuda_none.c tools/lib/llm/infer_cuda_none.c,$(LIB_C)) tools/lib/llm/model_cuda_none.c tools/lib/llm/infer_cuda_none.c
FUZZ_LIBOBJS  = $(patsubst tools/lib/%.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_C)) $(patsubst tools/lib/%.cc,$(FUZZ_DIR)/obj/%.o,$(LIB_CXX))
FUZZ_BINS     = $(patsubst %,$(FUZZ_DIR)/bin/fuzz_%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-build fuzz-seeds
.PRECIOUS: $(FUZZ_DIR)/obj/harness_%.o

$(FUZZ_DIR)/obj/%.o: tools/lib/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/obj/%.o: tools/lib/%.cc $(LIB_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_COMMON) -std=c++17 -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/libcft.a: $(FUZZ_LIBOBJS)
	rm -f $@ && ar rcs $@ $^
# the guard itself gets no coverage instrumentation (its hash probing is noise)
$(FUZZ_DIR)/obj/fuzz_common.o: fuzz/fuzz_common.c fuzz/fuzz_common.h $(LIB_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
$(FUZZ_DIR)/obj/harness_%.o: fuzz/fuzz_%.c fuzz/fuzz_common.h $(LIB_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/obj/harness_prompts.o: tools/cft-step.c
$(FUZZ_DIR)/bin/fuzz_%: $(FUZZ_DIR)/obj/harness_%.o $(FUZZ_DIR)/obj/fuzz_common.o $(FUZZ_DIR)/libcft.a
	@mkdir -p $(@D)
	$(FUZZ_CXX) -g -fopenmp -fsanitize=fuzzer $(FUZZ_SAN) $(FUZZ_WRAP) $^ -o $@ $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/seeds.stamp: fuzz/seeds.py fuzz/seeds.sh
	DATA_ROOT=$(DATA_ROOT) ./fuzz/seeds.sh $(FUZZ_DIR)
	@touch $@
fuzz-seeds: $(FUZZ_DIR)/seeds.stamp

fuzz: fuzz-build fuzz-seeds
	@fail=0; for t in $(FUZZ_TARGETS); do FUZZ_DIR=$(FUZZ_DIR) ./fuzz/run.sh $$t $(FUZZ_SECONDS) || fail=1; done; \
	  [ $$fail = 0 ] || { echo "fuzz: findings above (artifacts under $(FUZZ_DIR)/artifacts/)"; exit 1; }
