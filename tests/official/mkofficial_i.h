/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial_i.h - between the parts of mkofficial
 *
 * mkofficial.c (main, options, the tensor list), mkofficial_arch.c (each
 * family's tensors, config and pattern_dict, filled with seeded random
 * values; the MoE and vision-language ones in mkofficial_moe.c and
 * mkofficial_mm.c, the diffusion transformers in mkofficial_dit.c and
 * mkofficial_dit2.c) and mkofficial_write.c (safetensors and json files, the
 * unit files of the official form, or the one file of save_single_file). A
 * model is built in memory by one arch function, then written twice: as the
 * original and in the official form. Every failure ends the process through
 * mk_die() (a test tool).
 */
#ifndef DF11_MKOFFICIAL_I_H
#define DF11_MKOFFICIAL_I_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PROG	  "mkofficial"
#define MAX_UNITS 16

enum dt { BF16, F32, U8, I64 };
/* bytes per element, by enum dt */
extern const unsigned mk_dt_size[];

struct tensor {
	char *name;
	enum dt dt;
	unsigned nd;
	uint64_t shape[5]; /* Wan's Conv3d weight has 5 dims */
	uint8_t *data;
	uint64_t len; /* bytes */
	int used;     /* a unit piece, or placed in a unit file */
};

struct tlist {
	struct tensor *v;
	size_t n, cap;
};

/* a compressed unit: module path and its pattern_dict key */
struct unit {
	char path[96];
	const char *key;
};

struct model {
	struct tlist orig;
	json_t *cfg; /* the original config */
	json_t *pat; /* pattern_dict */
	struct unit units[MAX_UNITS];
	size_t n_units;
	/* the remainder's tied lm_head copy (name, copied from), or NULL */
	const char *tied_copy, *tied_src;
	/* a diffusers model: diffusion_pytorch_model.safetensors, no
	 * generation config; the DF11 config.json holds dfloat11_config
	 * alone and original-config.json the original config */
	int diffusers;
};

/* print "mkofficial: <message>" to stderr and exit 1 */
__attribute__((format(printf, 1, 2), noreturn)) void mk_die(const char *fmt,
							    ...);

/* malloc(@n) (at least 1 byte) or die; the caller frees */
void *mk_alloc(size_t n);

/* a new printf-formatted string or die; the caller frees */
__attribute__((format(printf, 1, 2))) char *mk_fmt(const char *fmt, ...);

/*
 * Append a tensor of @nd dims to @l, taking @name (malloc'ed) and giving
 * it uninitialised data of the right size. Returns it, borrowed from @l
 * (moved by the next append).
 */
struct tensor *mk_tensor_new(struct tlist *l, char *name, enum dt dt,
			     unsigned nd, const uint64_t *shape);

/* the tensor of @l named @name (borrowed), or NULL */
struct tensor *mk_find(struct tlist *l, const char *name);

/* seed the random values of the tensors mk_archs[].build() makes */
void mk_seed(uint64_t seed);

/* append a BF16 matrix [@r, @c] of N(0, 0.02) values (takes @name) */
void mk_mat(struct tlist *l, char *name, uint64_t r, uint64_t c);

/* append a BF16 vector [@n] of N(@mean, 0.05) values (takes @name) */
void mk_vec(struct tlist *l, char *name, uint64_t n, double mean);

/* append a BF16 tensor of @nd <= 4 dims [@d0, ...] of N(0, 0.02) values
 * (takes @name; the dims past @nd are ignored) */
void mk_nd(struct tlist *l, char *name, unsigned nd, uint64_t d0, uint64_t d1,
	   uint64_t d2, uint64_t d3);

/* add unit "@path[.@i]" of pattern_dict key @key (@i < 0: none) to @m */
void mk_unit_add(struct model *m, const char *key, const char *path, long i);

/* the MoE architectures (mkofficial_moe.c) */
void mk_arch_mixtral(struct model *m);
void mk_arch_qwen3_moe(struct model *m);
void mk_arch_deepseek_v3(struct model *m);
void mk_arch_gpt_oss(struct model *m);

/* the diffusion transformers with pieces that have no bias
 * (mkofficial_dit.c) */
void mk_arch_hidream(struct model *m);
void mk_arch_cosmos(struct model *m);

/* the diffusion transformers whose every compressed Linear has a bias
 * (mkofficial_dit2.c) */
void mk_arch_chroma(struct model *m);
void mk_arch_wan(struct model *m);
void mk_arch_qwenimage(struct model *m);
void mk_arch_sd3(struct model *m);

/* the vision-language architectures (mkofficial_mm.c) */
void mk_arch_qwen2_vl(struct model *m);
void mk_arch_qwen2_5_vl(struct model *m);
void mk_arch_mistral3(struct model *m);
void mk_arch_llama4(struct model *m);

/* the architectures: build() fills an empty model (tensors, config,
 * pattern_dict, units) */
struct mk_arch {
	const char *name;
	void (*build)(struct model *m);
};
extern const struct mk_arch mk_archs[];
extern const size_t mk_n_archs;

/*
 * Write @dir/@name: @n tensors as one safetensors file, laid out as the
 * safetensors package does (sorts @v); with @meta a {"format": "pt"}
 * __metadata__.
 */
void mk_st_write(const char *dir, const char *name, struct tensor **v, size_t n,
		 int meta);

/* write @dir/@name: @j as save_pretrained does (indent 2, sorted keys) */
void mk_json_write(const char *dir, const char *name, json_t *j);

/*
 * Encode unit @u of @m and write its file to @dir, with the plain tensors
 * of its layer; marks the tensors it takes as used. With @into
 * (save_single_file) no file is written: the six stream tensors are
 * appended to @into (which owns them then) and only the pieces are
 * marked used.
 */
void mk_unit_write(struct model *m, const struct unit *u, const char *dir,
		   struct tlist *into);

#endif
