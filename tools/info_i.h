/* SPDX-License-Identifier: MIT */
/*
 * tools/info_i.h - df11 info: one JSON document for every kind of
 * directory, built by info.c (native trees, single files, plain files of
 * any directory) and official_info.c (the virtual files and units of an
 * official DFloat11 directory), printed as JSON or rendered as text by
 * df11_info_emit(). The schema is documented in info.c and man/df11.1.
 *
 * References follow jansson's words: "new" is the caller's to release,
 * "stolen" passes to the callee even when it fails.
 */
#ifndef DF11_TOOLS_INFO_I_H
#define DF11_TOOLS_INFO_I_H

#include <jansson.h>

#include "codec/safetensors.h"
#include "tools/tool_i.h"

#define DF11_INFO_FORMAT  "df11fs-info"
#define DF11_INFO_VERSION 1

/** df11_info_str() - a JSON string; bytes that are not UTF-8 become '?'. */
json_t *df11_info_str(const char *s);

/** df11_info_ratio() - @stored / @size, or null when @size is 0 (new). */
json_t *df11_info_ratio(uint64_t stored, uint64_t size);

/**
 * df11_info_tensor() - the record of tensor @t (new reference, NULL when
 * out of memory): coded with @codec into @stored bytes.
 */
json_t *df11_info_tensor(const struct df11_st_tensor *t, const char *codec,
			 uint64_t stored);

/**
 * df11_info_file() - a file record (new reference, NULL when out of
 * memory): @kind "container", "official" or "file", @size bytes shown,
 * @stored bytes read, @tensors (stolen; NULL: none).
 */
json_t *df11_info_file(const char *name, const char *kind, uint64_t size,
		       uint64_t stored, json_t *tensors);

/**
 * df11_info_disk() - the record of the file @path on disk, named @name:
 * a native container, a plain safetensors file or any other file.
 * Reports errors. Return: 0 and *@out (new reference), -errno.
 */
int df11_info_disk(const char *path, const char *name, json_t **out);

/**
 * df11_info_emit() - complete the document of @path (@kind "native" or
 * "official", @dfl_version: dfloat11_config.version or NULL) with its
 * @units (stolen; NULL: none) and @files (stolen), add the totals, and
 * print it: JSON with o->json, else text. Return: the exit status.
 */
int df11_info_emit(const struct df11_opts *o, const char *path,
		   const char *kind, const char *dfl_version, json_t *units,
		   json_t *files);

#endif
