/* A model file opened for inference or inspection: the mapped GGUF, its architecture, the
 * hyperparameters, each layer's recipe, and every tensor checked against the shape the recipe
 * expects. No GPU is involved; nothing is copied out of the mapping. */
#ifndef VKLLM_MODEL_H
#define VKLLM_MODEL_H

#include "loader/gguf.h"
#include "model/arch.h"
#include "model/tensors.h"

struct vocab_info {
	char model[16];   /* tokenizer.ggml.model: "gpt2" (byte-level BPE), "llama" (SentencePiece) */
	char pre[32];     /* tokenizer.ggml.pre, "" when absent */
	uint32_t n_tokens;
	uint32_t n_merges;
	bool has_chat_template;
};

struct model_file {
	struct gguf_file gguf;
	const struct arch *arch;
	struct hparams hp;
	struct layer_desc layers[MODEL_MAX_LAYERS];
	struct tensor_list specs;
	const struct gguf_tensor **tensors; /* [specs.n]: the file's tensor per spec, NULL for an absent optional one */
	bool tied_output;                   /* output.weight absent: the LM head is token_embd */
	struct vocab_info vocab;
};

/* Maps, validates and checks a model; on failure nothing stays open and the message names the
 * file and what is wrong ("missing tensor 'blk.0.attn_q.weight' (expected [1024, 2048])"). */
int model_file_open(struct model_file *m, const char *path);
/* The same checks on a file already in memory (fuzzing, tests); the memory must outlive m. */
int model_file_open_memory(struct model_file *m, const void *data, size_t size, const char *name);
void model_file_close(struct model_file *m);

/* Fills layers[] from the arch's layer function (shared by the loader and synth). */
void model_describe_layers(const struct arch *a, const struct hparams *hp, struct layer_desc *layers);

#endif
