/* The native dirtree reader (see dirtree_read.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "dirtree_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void checksum_hex(char *out, const uint8_t *cs) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[cs[i] >> 4];
    out[2 * i + 1] = hex[cs[i] & 15];
  }
  out[64] = 0;
}

void object_rel_path(char *out, const uint8_t *cs, const char *ext) {
  char hex[65];
  checksum_hex(hex, cs);
  memcpy(out, hex, 2);
  out[2] = '/';
  memcpy(out + 3, hex + 2, 62);
  out[65] = '.';
  strcpy(out + 66, ext);
}

int read_object_whole(int dfd, const uint8_t *cs, const char *ext, uint8_t **buf, size_t *len) {
  char rel[96];
  object_rel_path(rel, cs, ext);
  int fd;
  do fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno;
  struct stat st;
  int err = 0;
  uint8_t *b = NULL;
  size_t got = 0;
  if (fstat(fd, &st) != 0) err = errno;
  else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > DIRTREE_MAX) err = EINVAL;
  else if (!(b = malloc(st.st_size ? (size_t)st.st_size : 1))) err = ENOMEM;
  while (!err && got < (size_t)st.st_size) {
    ssize_t n = pread(fd, b + got, (size_t)st.st_size - got, (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) err = n < 0 ? errno : EIO; /* shrank meanwhile: not this reader's to judge */
    else got += (size_t)n;
  }
  close(fd);
  if (err) {
    free(b);
    return err;
  }
  *buf = b;
  *len = got;
  return 0;
}

bool utf8_strict(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) n = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) n = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) n = 3, cp = c & 0x07, min = 0x10000;
    else return false;
    if (len - i <= n) return false;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

static size_t width(size_t size) { return size == 0 ? 0 : size <= 0xff ? 1 : size <= 0xffff ? 2 : 4; }

static size_t offset_at(const uint8_t *b, size_t pos, size_t w) {
  if (w == 1) return b[pos];
  if (w == 2) return (size_t)b[pos] | (size_t)b[pos + 1] << 8;
  return (size_t)b[pos] | (size_t)b[pos + 1] << 8 | (size_t)b[pos + 2] << 16 | (size_t)b[pos + 3] << 24;
}

/* Member ends (absolute) of a tuple of `n` variable-size, 1-aligned members in b[start, end). */
static bool members(const uint8_t *b, size_t start, size_t end, int n, size_t *out) {
  size_t size = end - start, w = width(size), table_end = size, prev = 0;
  for (int i = 0; i < n; i++) {
    size_t e;
    if (i == n - 1) e = table_end;
    else {
      if (w == 0 || table_end < w) return false;
      table_end -= w;
      e = offset_at(b, start + table_end, w);
    }
    if (prev > e || e > table_end) return false;
    out[i] = start + e;
    prev = e;
  }
  return true;
}

/* A name in b[start, end): bytes then one NUL; not empty, `.`, `..`, nor holding `/` or NUL;
 * ASCII, or strict UTF-8 when `names` allows. */
static bool name_ok(const uint8_t *b, size_t start, size_t end, dirtree_names names) {
  if (end - start < 2 || b[end - 1] != 0) return false;
  size_t len = end - 1 - start;
  bool ascii = true;
  for (size_t i = start; i < end - 1; i++) {
    if (b[i] == 0 || b[i] == '/') return false;
    if (b[i] >= 0x80) ascii = false;
  }
  if (!ascii && (names == NAMES_ASCII || !utf8_strict(b + start, len))) return false;
  if (b[start] == '.' && (len == 1 || (len == 2 && b[start + 1] == '.'))) return false;
  return true;
}

/* strcmp order of the names at a and b (each NUL-terminated inside its buffer): byte order. */
static int name_cmp(const uint8_t *a, const uint8_t *b) { return strcmp((const char *)a, (const char *)b); }

/*
 * The entries of a dirtree array in b[start, end): each a tuple of a name and `n - 1` checksums;
 * names strictly ascending. *out is malloc'd (NULL when there are none). False if anything is
 * not so (or out of memory).
 */
static bool entries(const uint8_t *b, size_t start, size_t end, int n, dirtree_names names, dirtree_entry **out,
                    size_t *count) {
  *out = NULL;
  *count = 0;
  if (start == end) return true;
  size_t size = end - start, w = width(size);
  if (size < w) return false;
  size_t table_start = offset_at(b, end - w, w);
  if (table_start > size - w || (size - table_start) % w != 0 || size == table_start) return false;
  size_t k = (size - table_start) / w;
  /* each element holds at least a 1-byte name, its NUL and 32 bytes of checksum: a table claiming
   * more elements than that is malformed (and must not size an allocation) */
  if (k > table_start / 34) return false;
  dirtree_entry *es = malloc(k * sizeof *es);
  if (!es) return false;
  size_t prev = 0, s = start;
  for (size_t i = 0; i < k; i++) {
    size_t e = offset_at(b, start + table_start + i * w, w);
    size_t m[3];
    if (e < prev || e > table_start || !members(b, s, start + e, n, m) || !name_ok(b, s, m[0], names)) goto bad;
    for (int c = 1; c < n; c++)
      if (m[c] - m[c - 1] != 32) goto bad;
    if (i > 0 && name_cmp(b + es[i - 1].name, b + s) >= 0) goto bad;
    es[i].name = s;
    for (int c = 1; c < n; c++) es[i].cs[c - 1] = m[c - 1];
    prev = e;
    s = start + e;
  }
  *out = es;
  *count = k;
  return true;
bad:
  free(es);
  return false;
}

bool dirtree_parse(const uint8_t *b, size_t len, dirtree_names names, dirtree_view *out) {
  size_t m[2];
  memset(out, 0, sizeof *out);
  if (len == 0 || !members(b, 0, len, 2, m) || !entries(b, 0, m[0], 2, names, &out->files, &out->nfiles) ||
      !entries(b, m[0], m[1], 3, names, &out->dirs, &out->ndirs)) {
    dirtree_view_free(out);
    return false;
  }
  /* no name may be both a file and a directory (both lists are sorted: merge) */
  for (size_t a = 0, c = 0; a < out->nfiles && c < out->ndirs;) {
    int r = name_cmp(b + out->files[a].name, b + out->dirs[c].name);
    if (r == 0) {
      dirtree_view_free(out);
      return false;
    }
    if (r < 0) a++;
    else c++;
  }
  return true;
}

void dirtree_view_free(dirtree_view *v) {
  free(v->files);
  free(v->dirs);
  v->files = v->dirs = NULL;
  v->nfiles = v->ndirs = 0;
}
