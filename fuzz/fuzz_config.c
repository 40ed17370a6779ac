/* fuzz_config: config.json into ModelConfig (ckpt_read_config_file, tools/lib/llm/ckpt.c), as a
 * checkpoint directory's (no vocab default) and as a hand-written config for a fresh model
 * (vocab default, model_type optional); an accepted config must satisfy what model.c then
 * relies on. Input: the file. */
#include "ckpt.h"
#include "fuzz_common.h"

static const char *g_path;
static int g_vocab_default;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    g_path = fz_scratch("config.json");
    return 0;
}

static void run(void *arg) {
    (void)arg;
    ModelConfig c;
    ckpt_read_config_file(g_path, &c, g_vocab_default);
    FZ_CHECK(c.vocab_size >= 1 && c.hidden_size >= 2 && c.intermediate_size >= 1 && c.num_hidden_layers >= 1,
             "sizes: V %d C %d F %d L %d", c.vocab_size, c.hidden_size, c.intermediate_size, c.num_hidden_layers);
    FZ_CHECK(c.num_attention_heads >= 1 && c.num_key_value_heads >= 1 && c.hidden_size % c.num_attention_heads == 0 &&
             c.num_attention_heads % c.num_key_value_heads == 0 && (c.hidden_size / c.num_attention_heads) % 2 == 0,
             "heads: C %d H %d KV %d", c.hidden_size, c.num_attention_heads, c.num_key_value_heads);
    FZ_CHECK(c.bos_token_id >= -1 && c.bos_token_id < c.vocab_size && c.eos_token_id >= -1 && c.eos_token_id < c.vocab_size &&
             c.pad_token_id >= -1 && c.pad_token_id < c.vocab_size, "special ids outside the vocabulary");
    FZ_CHECK(c.max_position_embeddings >= 1 && c.rms_norm_eps >= 0 && c.rope_theta >= 1, "position / eps / theta");
    FZ_CHECK(c.model_type == MODEL_QWEN2 || c.model_type == MODEL_LLAMA, "model type %d", (int)c.model_type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(g_path, data, size);
    g_vocab_default = -1;
    fz_guard(run, NULL);
    g_vocab_default = 32000;
    fz_guard(run, NULL);
    return 0;
}
