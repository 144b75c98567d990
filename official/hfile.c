/* SPDX-License-Identifier: MIT */
/*
 * official/hfile.c - the df11-headers file: written by `df11 headers`
 * (df11_off_headers_encode()), read back here (off_headers_load())
 *
 *   {"format": "df11-headers", "version": "1.0",
 *    "files": [{"name": "model-00001-of-00003.safetensors",
 *               "size": 2884264, "header": "<base64 of bytes [0, 8 + N)>"}],
 *    "index": {"name": "model.safetensors.index.json",
 *              "data": "<base64 of the file>"}}
 *
 * The keys (official_i.h) and the version (official.h) are spelled once,
 * for the writer and the reader. The version is "MAJOR.MINOR": a reader
 * takes every minor version of its major (a newer minor only adds keys,
 * which it ignores) and refuses another major with -ENOTSUP. Files
 * written before the version was a string say 1, read as "1.0".
 * headers.c turns the loaded document into virtual files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/base64.h"
#include "official/official_i.h"

/* base64 of @p (@n bytes) as a new JSON string, NULL when out of memory */
static json_t *b64_json(const uint8_t *p, size_t n)
{
	size_t len = df11_b64_encoded_len(n);
	char *s = len || !n ? malloc(len + 1) : NULL;
	json_t *j;

	if (!s)
		return NULL;
	df11_b64_encode(p, n, s);
	j = json_stringn(s, len);
	free(s);
	return j;
}

/* one entry of "files", NULL when out of memory */
static json_t *file_entry(const struct df11_off_hfile *f)
{
	json_t *e = json_object();

	/* json_object_set_new() takes (and on failure drops) the value */
	if (!e || f->size > INT64_MAX ||
	    json_object_set_new(e, DF11_OFF_HK_NAME, json_string(f->name)) ||
	    json_object_set_new(e, DF11_OFF_HK_SIZE,
				json_integer((json_int_t)f->size)) ||
	    json_object_set_new(e, DF11_OFF_HK_HEADER,
				b64_json(f->header, f->header_len))) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* the document of df11_off_headers_encode(), NULL when out of memory */
static json_t *headers_doc(const struct df11_off_hfile *files, size_t n_files,
			   const char *index_name, const uint8_t *index,
			   size_t index_len)
{
	json_t *doc = json_object(), *arr = json_array(), *ix = NULL;
	bool ok;
	char ver[32];

	snprintf(ver, sizeof(ver), "%d.%d", DF11_OFF_HEADERS_MAJOR,
		 DF11_OFF_HEADERS_MINOR);
	ok = doc && arr &&
	     !json_object_set_new(doc, DF11_OFF_HK_FORMAT,
				  json_string(DF11_OFF_HEADERS_FORMAT)) &&
	     !json_object_set_new(doc, DF11_OFF_HK_VERSION, json_string(ver)) &&
	     !json_object_set(doc, DF11_OFF_HK_FILES, arr);
	for (size_t i = 0; ok && i < n_files; i++)
		ok = !json_array_append_new(arr, file_entry(&files[i]));
	if (ok && index_name)
		ok = (ix = json_object()) &&
		     !json_object_set_new(ix, DF11_OFF_HK_NAME,
					  json_string(index_name)) &&
		     !json_object_set_new(ix, DF11_OFF_HK_DATA,
					  b64_json(index, index_len)) &&
		     !json_object_set(doc, DF11_OFF_HK_INDEX, ix);
	json_decref(ix);
	json_decref(arr);
	if (!ok) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int df11_off_headers_encode(char **out, size_t *out_len,
			    const struct df11_off_hfile *files, size_t n_files,
			    const char *index_name, const uint8_t *index,
			    size_t index_len)
{
	json_t *doc = headers_doc(files, n_files, index_name, index, index_len);

	*out =
	    doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	*out_len = *out ? strlen(*out) : 0;
	return *out ? 0 : -ENOMEM;
}

/*
 * The version of @root: an integer (files of the first writers) or a
 * "MAJOR.MINOR" string, each part 1-9 digits. Return: 0 and the parts,
 * -EBADMSG. @text gets the spelling for messages.
 */
static int version_of(const json_t *root, unsigned long *major,
		      unsigned long *minor, char *text, size_t cap)
{
	const json_t *v = json_object_get(root, DF11_OFF_HK_VERSION);
	const char *s = json_string_value(v);
	size_t a, b;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 ||
		    json_integer_value(v) > 999999999)
			return -EBADMSG;
		*major = (unsigned long)json_integer_value(v);
		*minor = 0;
		snprintf(text, cap, "%lu", *major);
		return 0;
	}
	if (!s)
		return -EBADMSG;
	a = strspn(s, "0123456789");
	if (a < 1 || a > 9 || s[a] != '.')
		return -EBADMSG;
	b = strspn(s + a + 1, "0123456789");
	if (b < 1 || b > 9 || s[a + 1 + b])
		return -EBADMSG;
	*major = strtoul(s, NULL, 10);
	*minor = strtoul(s + a + 1, NULL, 10);
	snprintf(text, cap, "%s", s);
	return 0;
}

int off_headers_load(json_t **out, const char *txt, size_t len, char *err,
		     size_t errlen)
{
	json_t *root = json_loadb(txt, len, JSON_REJECT_DUPLICATES, NULL);
	const char *fmt =
	    json_string_value(json_object_get(root, DF11_OFF_HK_FORMAT));
	unsigned long major, minor;
	char ver[32];
	int rc = -EBADMSG;

	*out = NULL;
	if (!fmt || strcmp(fmt, DF11_OFF_HEADERS_FORMAT)) {
		df11_err_set(err, errlen, "headers: not a 'df11 headers' file");
	} else if (version_of(root, &major, &minor, ver, sizeof(ver)) ||
		   major == 0) {
		df11_err_set(err, errlen, "headers: bad version");
	} else if (major != DF11_OFF_HEADERS_MAJOR) {
		df11_err_set(err, errlen,
			     "headers file version %s is newer than this "
			     "df11fs supports (%d.x)",
			     ver, DF11_OFF_HEADERS_MAJOR);
		rc = -ENOTSUP;
	} else {
		*out = root;
		return 0;
	}
	json_decref(root);
	return rc;
}
