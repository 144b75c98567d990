/* SPDX-License-Identifier: MIT */
/*
 * official/config.c - config.json of an official directory: the
 * dfloat11_config key, pattern_dict and its regexes, and the names that
 * tell an official or a legacy (0.1) directory
 *
 * pattern_dict keys are Python re.fullmatch patterns on module paths.
 * They are translated to POSIX extended regexes anchored as ^(...)$; what
 * cannot be translated faithfully is refused rather than approximated
 * (docs/OFFICIAL.md, "Units and pieces").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "official/official_i.h"

bool df11_off_probe(const char *config, size_t len)
{
	json_t *j = json_loadb(config, len, 0, NULL);
	bool r = json_is_object(j) && json_object_get(j, "dfloat11_config");

	json_decref(j);
	return r;
}

static bool ends_with(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);

	return a > b && !strcmp(s + a - b, sfx);
}

bool df11_off_legacy(const char *const *names, size_t n)
{
	bool pkl = false, ptx = false;

	for (size_t i = 0; i < n; i++) {
		pkl |= ends_with(names[i], ".pkl");
		ptx |= !strcmp(names[i], "decode.ptx");
	}
	return pkl && ptx;
}

bool df11_off_hides(const char *name)
{
	return !strcmp(name, "config.json") ||
	       !strcmp(name, DF11_OFF_ORIG_CONFIG) ||
	       !strcmp(name, DF11_OFF_ORIG_HEADERS) ||
	       ends_with(name, ".safetensors") ||
	       ends_with(name, ".safetensors.index.json");
}

#define RE_MAX_LEN  256 /* bytes of one pattern_dict key */
#define RE_MAX_PLUS 8	/* '+' quantifiers in one pattern */

/*
 * Translate Python regex @py into an anchored POSIX ERE in @buf. Knows
 * literals, '.', classes without escapes, groups, '|', the greedy
 * quantifiers *, + and ? and the escapes \d, \w and \<punctuation>.
 * Refused: stacked quantifiers (lazy "*?", possessive "++" of Python 3.11,
 * which ERE cannot say), bounded repetition "{m,n}", more than RE_MAX_PLUS
 * '+' and patterns over RE_MAX_LEN bytes: the C library compiles repeated
 * groups by copying them, so nested repetition of untrusted patterns would
 * cost memory exponential in their length. Real pattern_dicts use only
 * "\d+" and "\.". Return: 0, -ENOTSUP.
 */
static int re_translate(const char *py, char *buf, size_t cap)
{
	size_t o = 0;
	int in_class = 0, quant = 0;
	unsigned n_plus = 0;

#define PUT(str)                                                               \
	do {                                                                   \
		size_t l_ = strlen(str);                                       \
		if (o + l_ + 3 > cap)                                          \
			return -ENOTSUP;                                       \
		memcpy(buf + o, str, l_);                                      \
		o += l_;                                                       \
	} while (0)
	if (strlen(py) > RE_MAX_LEN)
		return -ENOTSUP;
	PUT("^(");
	for (const char *p = py; *p; p++) {
		char c[3] = {*p, 0, 0};
		int was_quant = quant;

		quant = 0;
		if (in_class) {
			if (*p == '\\')
				return -ENOTSUP;
			in_class = *p != ']';
		} else if (*p == '[') {
			in_class = 1;
		} else if (*p == '\\') {
			p++;
			if (*p == 'd') {
				PUT("[0-9]");
				continue;
			}
			if (*p == 'w') {
				PUT("[A-Za-z0-9_]");
				continue;
			}
			if (!*p || (*p >= '0' && *p <= '9') ||
			    (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z'))
				return -ENOTSUP;
			c[0] = '\\';
			c[1] = *p;
		} else if (*p == '(' && p[1] == '?') {
			if (p[2] != ':')
				return -ENOTSUP;
			p += 2;
		} else if (*p == '{') {
			return -ENOTSUP; /* bounded repetition */
		} else if (*p == '*' || *p == '+' || *p == '?') {
			if (was_quant || (*p == '+' && ++n_plus > RE_MAX_PLUS))
				return -ENOTSUP;
			quant = 1;
		}
		PUT(c);
	}
	if (in_class)
		return -ENOTSUP;
	PUT(")$");
	buf[o] = '\0';
	return 0;
#undef PUT
}

/* Parse dfloat11_config: version, geometry, pattern_dict (compiled). */
static int parse_dconf(struct df11_off *m, char *err, size_t errlen)
{
	json_t *dc = json_object_get(m->config, "dfloat11_config");
	json_t *tpb = json_object_get(dc, "threads_per_block");
	json_t *bpt = json_object_get(dc, "bytes_per_thread");
	json_t *pd = json_object_get(dc, "pattern_dict"), *v;
	const char *ver = json_string_value(json_object_get(dc, "version"));
	const char *key;
	char re[1024];

	if (!json_is_object(dc) || !json_is_object(pd) || !ver) {
		df11_err_set(err, errlen,
			     "config.json: dfloat11_config needs "
			     "version and a pattern_dict object");
		return -EBADMSG;
	}
	if (!strncmp(ver, "0.1", 3) && (!ver[3] || ver[3] == '.')) {
		df11_err_set(err, errlen,
			     "DFloat11 version '%s' (the 0.1 layout) "
			     "is not supported",
			     ver);
		return -ENOTSUP;
	}
	if ((tpb && (!json_is_array(tpb) || json_array_size(tpb) != 1 ||
		     json_integer_value(json_array_get(tpb, 0)) != 512)) ||
	    (bpt && json_integer_value(bpt) != 8)) {
		df11_err_set(err, errlen,
			     "dfloat11_config: only 512 threads per "
			     "block and 8 bytes per thread are known");
		return -ENOTSUP;
	}
	m->version = strdup(ver);
	m->re = calloc(json_object_size(pd) + 1, sizeof(*m->re));
	if (!m->version || !m->re)
		return -ENOMEM;
	json_object_foreach(pd, key, v)
	{
		if (!json_is_array(v)) {
			df11_err_set(err, errlen,
				     "pattern_dict '%s': not a list", key);
			return -EBADMSG;
		}
		for (size_t i = 0; i < json_array_size(v); i++)
			if (!json_string_value(json_array_get(v, i)) ||
			    !*json_string_value(json_array_get(v, i)))
				goto bad_attr;
		if (re_translate(key, re, sizeof(re)) ||
		    regcomp(&m->re[m->n_pat], re, REG_EXTENDED | REG_NOSUB)) {
			df11_err_set(err, errlen,
				     "pattern_dict key '%s': regex feature not "
				     "supported (known: literals, ., [...], "
				     "groups, |, greedy quantifiers, \\d, \\w)",
				     key);
			return -ENOTSUP;
		}
		m->n_pat++;
	}
	return 0;
bad_attr:
	df11_err_set(err, errlen,
		     "pattern_dict '%s': attributes must be non-empty "
		     "strings",
		     key);
	return -EBADMSG;
}

/* Parse config.json and its dfloat11_config. */
int off_parse_config(struct df11_off *m, const char *config, size_t len,
		     char *err, size_t errlen)
{
	json_error_t je;

	if (len > DF11_ST_MAX_HEADER) {
		df11_err_set(err, errlen, "config.json: too large");
		return -EBADMSG;
	}
	m->config = json_loadb(config, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(m->config)) {
		df11_err_set(err, errlen, "config.json: %s",
			     m->config ? "not an object" : je.text);
		return -EBADMSG;
	}
	if (!json_object_get(m->config, "dfloat11_config")) {
		df11_err_set(err, errlen,
			     "config.json: no dfloat11_config (not "
			     "an official DFloat11 directory)");
		return -ENOTSUP;
	}
	m->config_txt = config;
	m->config_len = len;
	m->arch = m->config;
	m->arch_name = "config.json";
	return parse_dconf(m, err, errlen);
}

int off_parse_orig(struct df11_off *m, const char *txt, size_t len, char *err,
		   size_t errlen)
{
	json_error_t je;
	json_t *j;

	if (len > DF11_ST_MAX_HEADER) {
		df11_err_set(err, errlen, DF11_OFF_ORIG_CONFIG ": too large");
		return -EBADMSG;
	}
	j = json_loadb(txt, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		df11_err_set(err, errlen, DF11_OFF_ORIG_CONFIG ": %s",
			     j ? "not an object" : je.text);
		json_decref(j);
		return -EBADMSG;
	}
	if (json_object_get(j, "dfloat11_config")) {
		df11_err_set(err, errlen,
			     DF11_OFF_ORIG_CONFIG
			     ": has dfloat11_config (it "
			     "must be the original model's config.json)");
		json_decref(j);
		return -EBADMSG;
	}
	m->arch = j;
	m->arch_name = DF11_OFF_ORIG_CONFIG;
	m->orig_txt = txt;
	m->orig_len = len;
	return 0;
}

/* the first component of the diffusers transformers' block lists */
static const char *const diffusers_blocks[] = {
    "transformer_blocks.",
    "single_transformer_blocks.",
    "blocks.",
    "double_stream_blocks.",
    "single_stream_blocks.",
    "joint_transformer_blocks.",
    NULL,
};

/* does config.json hold nothing but dfloat11_config (and model_type)? */
static bool dconf_only(const json_t *c)
{
	size_t n = json_object_size(c);

	return n == 1 || (n == 2 && json_object_get(c, "model_type"));
}

void off_detect_layout(struct df11_off *m)
{
	m->diffusers =
	    json_string_value(json_object_get(m->arch, "_class_name")) != NULL;
	if (m->diffusers || m->arch != m->config || !dconf_only(m->config))
		return;
	for (size_t i = 0; i < m->n_units && !m->diffusers; i++)
		for (int k = 0; diffusers_blocks[k]; k++)
			if (!strncmp(m->units[i].path, diffusers_blocks[k],
				     strlen(diffusers_blocks[k])))
				m->diffusers = true;
}
