/*
 * The native dirtree reader shared by walk_trees.c and checkout_tree.c: reading a dirtree object
 * whole, and parsing `(a(say)a(sayay))` exactly as src/core/dirtree-fast.ts does (same framing
 * rules, names valid and strictly ascending in byte order, no name both a file and a directory).
 * Like that reader it is an accelerator, not a validator: it says "not for me" for anything it
 * is not certain of, and the caller leaves that dirtree to the JS decoder, which gives the error.
 */
#ifndef ARBOR_DIRTREE_READ_H
#define ARBOR_DIRTREE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest dirtree read natively; a larger one (none in practice) is left to the JS reader. */
#define DIRTREE_MAX ((size_t)16 << 20)

/* One entry: offsets into the dirtree's bytes. */
typedef struct {
  size_t name;  /* the NUL-terminated name */
  size_t cs[2]; /* the checksums: a file's content; a directory's tree then meta */
} dirtree_entry;

/* A parsed dirtree: entries malloc'd (NULL when none); free with dirtree_view_free. */
typedef struct {
  dirtree_entry *files, *dirs;
  size_t nfiles, ndirs;
} dirtree_view;

/* Names the reader accepts: plain ASCII only, or any strict UTF-8 (what JS decodes unchanged). */
typedef enum { NAMES_ASCII, NAMES_UTF8 } dirtree_names;

/* The 64 lower-case hex digits of a binary checksum, NUL-terminated (out: 65 bytes). */
void checksum_hex(char *out, const uint8_t *cs);
/* "XX/REST.ext" of a binary checksum (out: at least 64 + 2 + strlen(ext) + 1 bytes). */
void object_rel_path(char *out, const uint8_t *cs, const char *ext);

/* Read objectsDir (dfd)/XX/REST.<ext> whole when it is a regular file of at most DIRTREE_MAX
 * bytes: 0 with *buf (malloc'd) and *len; ENOENT when absent, EINVAL when not such a file,
 * another errno when unreadable. */
int read_object_whole(int dfd, const uint8_t *cs, const char *ext, uint8_t **buf, size_t *len);

/* Parse b[0, len) as a dirtree; false (nothing to free) when it is not one this reader accepts
 * or when out of memory. */
bool dirtree_parse(const uint8_t *b, size_t len, dirtree_names names, dirtree_view *out);
void dirtree_view_free(dirtree_view *v);

/* Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
bool utf8_strict(const unsigned char *s, size_t len);

#endif
