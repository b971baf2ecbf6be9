/*
 * scanDir: the system calls `admin drift` makes for one directory of a deployment, in one call.
 *
 * Drift compares a deployment with its commit directory by directory: list the names on disk,
 * lstat every name the dirtree expects and, for a file, the repository object it should be a
 * hardlink of. Done from JavaScript that is a readdir, two Stats objects per file and a string per
 * name; here it is one opendir, one sorted name list, fstatat() relative to the directory and one
 * lstat per object, with only numbers (and the unexpected names) handed back.
 *
 * It is an accelerator: it never throws for what is on disk. A directory it cannot read gives null
 * and an entry it cannot stat gives -2, and the caller redoes that part with Node's fs, which
 * reports the error with its cause.
 */
#define NAPI_VERSION 8
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h> /* getdents64 (glibc >= 2.30, _GNU_SOURCE) */
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Numbers per entry in `out`; keep in step with src/managed/scan-dir.ts. */
#define SCAN_FIELDS 8
/* Longest name or object path accepted (longer ones are reported as -2: the caller decides). */
#define SCAN_NAME_MAX 4096

typedef struct {
  char **names; /* sorted by strcmp */
  bool *seen;
  size_t n, cap;
  char *pool; /* the names' bytes */
  size_t pool_len, pool_cap;
} dirlist;

static void dirlist_free(dirlist *l) {
  free(l->names);
  free(l->seen);
  free(l->pool);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* getdents64(2)'s record (glibc declares the call, not the struct). */
struct scan_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Read every name of the directory open as `fd` (left open, read from its current offset),
 * sorted; straight getdents64, so no dup/fdopendir/closedir per directory. false on any error. */
static bool dirlist_read(int fd, dirlist *l) {
  size_t *offs = NULL;
  bool ok = true;
  char buf[32768];
  for (;;) {
    ssize_t got = getdents64(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ok = got == 0;
      break;
    }
    for (ssize_t pos = 0; ok && pos < got;) {
      struct scan_dirent64 *e = (struct scan_dirent64 *)(buf + pos);
      pos += e->d_reclen;
      const char *nm = e->d_name;
      if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
      size_t len = strlen(nm) + 1;
      if (l->pool_len + len > l->pool_cap) {
        size_t cap = l->pool_cap ? l->pool_cap * 2 : 4096;
        while (cap < l->pool_len + len) cap *= 2;
        char *p = realloc(l->pool, cap);
        if (!p) {
          ok = false;
          break;
        }
        l->pool = p;
        l->pool_cap = cap;
      }
      if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        size_t *o = realloc(offs, cap * sizeof *o);
        if (!o) {
          ok = false;
          break;
        }
        offs = o;
        l->cap = cap;
      }
      memcpy(l->pool + l->pool_len, nm, len);
      offs[l->n++] = l->pool_len;
      l->pool_len += len;
    }
    if (!ok) break;
  }
  if (ok && l->n > 0) {
    l->names = malloc(l->n * sizeof *l->names);
    l->seen = calloc(l->n, sizeof *l->seen);
    ok = l->names && l->seen;
    if (ok) {
      for (size_t i = 0; i < l->n; i++) l->names[i] = l->pool + offs[i];
      qsort(l->names, l->n, sizeof *l->names, cmp_names);
    }
  }
  free(offs);
  return ok;
}

/* Mark `name` seen; false if the directory does not list it. */
static bool dirlist_take(dirlist *l, const char *name) {
  if (l->n == 0) return false;
  const char *key = name;
  char **hit = bsearch(&key, l->names, l->n, sizeof *l->names, cmp_names);
  if (!hit) return false;
  l->seen[hit - l->names] = true;
  return true;
}

/* The UTF-8 bytes of string property `key` of `obj` into buf; false if absent, not a string or too long. */
static bool get_str_prop(napi_env env, napi_value obj, napi_value key, char *buf, size_t size) {
  napi_value v;
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) return false;
  if (napi_get_property(env, obj, key, &v) != napi_ok) return false;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return false;
  return len < size - 1 && strlen(buf) == len; /* not truncated, no NUL inside */
}

static void put_stat(double *o, const struct stat *st) {
  o[0] = (double)st->st_dev;
  o[1] = (double)st->st_ino;
  o[2] = (double)st->st_mode;
  o[3] = (double)st->st_mtim.tv_sec * 1000.0 + (double)st->st_mtim.tv_nsec / 1e6;
  o[4] = (double)st->st_uid;
  o[5] = (double)st->st_gid;
}

/* The entry's lstat into o[0..5]: -1 in o[0] if absent, -2 if it could not be stat'ed. */
static void stat_entry(int dfd, dirlist *l, const char *name, double *o) {
  struct stat st;
  if (!dirlist_take(l, name)) o[0] = -1;
  else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) put_stat(o, &st);
  else o[0] = (errno == ENOENT || errno == ENOTDIR) ? -1 : -2;
}

/* Zero the entry's numbers and read element `i` of `list` and its name; false (with -2 in o[0],
 * "the caller decides") if the element or its name is unusable. */
static bool start_entry(napi_env env, napi_value list, uint32_t i, napi_value k_name, napi_value *elem, char *name,
                        size_t size, double *o) {
  memset(o, 0, SCAN_FIELDS * sizeof *o);
  if (napi_get_element(env, list, i, elem) == napi_ok && get_str_prop(env, *elem, k_name, name, size)) return true;
  o[0] = -2;
  return false;
}

static bool is_hex64(const char *s) {
  for (int i = 0; i < 64; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return s[64] == 0;
}

static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

/*
 * scanDir(dir, files, dirs, objectsFd, objectSuffix, out) -> string[] | null
 *   files: [{name, checksum}], dirs: [{name}] (a dirtree's lists; other properties ignored)
 *   out:   Float64Array of (files.length + dirs.length) * SCAN_FIELDS, files first, each
 *          [dev, ino, mode, mtimeMs, uid, gid, objectDev, objectIno]; dev -1: absent, -2: lstat
 *          failed. The object (cs[0..2] + "/" + cs[2..] + objectSuffix under the directory open
 *          as objectsFd: two path components to resolve, not a dozen) is lstat'ed for files
 *          present only (same codes in objectDev); dirs leave it 0.
 * Returns the names on disk listed in neither list (strcmp order), or null if `dir` could not be
 * read. Throws only for bad arguments.
 */
napi_value ScanDir(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc = 6;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) return type_error(env, "scanDir needs 6 arguments");
  char dir[SCAN_NAME_MAX], suffix[64], name[SCAN_NAME_MAX], cs[80];
  size_t len;
  /* strlen() == len: a NUL inside would make open() and the object paths name something else */
  if (napi_get_value_string_utf8(env, argv[0], dir, sizeof dir, &len) != napi_ok || len >= sizeof dir - 1 ||
      strlen(dir) != len)
    return type_error(env, "dir must be a string without NUL (shorter than 4096 bytes)");
  int32_t ofd = -1;
  if (napi_get_value_int32(env, argv[3], &ofd) != napi_ok || ofd < 0)
    return type_error(env, "objectsFd must be an open directory's file descriptor");
  if (napi_get_value_string_utf8(env, argv[4], suffix, sizeof suffix, &len) != napi_ok || len >= sizeof suffix - 1 ||
      strlen(suffix) != len || memchr(suffix, '/', len))
    return type_error(env, "objectSuffix must be a short string without NUL or '/'");
  bool is_arr = false;
  uint32_t nfiles = 0, ndirs = 0;
  if (napi_is_array(env, argv[1], &is_arr) != napi_ok || !is_arr) return type_error(env, "files must be an array");
  napi_get_array_length(env, argv[1], &nfiles);
  if (napi_is_array(env, argv[2], &is_arr) != napi_ok || !is_arr) return type_error(env, "dirs must be an array");
  napi_get_array_length(env, argv[2], &ndirs);
  bool is_ta = false;
  napi_typedarray_type tt;
  size_t out_len = 0;
  void *out_data = NULL;
  if (napi_is_typedarray(env, argv[5], &is_ta) != napi_ok || !is_ta) return type_error(env, "out must be a Float64Array");
  napi_get_typedarray_info(env, argv[5], &tt, &out_len, &out_data, NULL, NULL);
  if (tt != napi_float64_array) return type_error(env, "out must be a Float64Array");
  if (out_len < ((size_t)nfiles + ndirs) * SCAN_FIELDS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "out is too short for files and dirs");
    return NULL;
  }
  double *out = out_data;
  napi_value k_name, k_checksum;
  napi_create_string_utf8(env, "name", NAPI_AUTO_LENGTH, &k_name);
  napi_create_string_utf8(env, "checksum", NAPI_AUTO_LENGTH, &k_checksum);

  napi_value result;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    napi_get_null(env, &result);
    return result;
  }
  dirlist l = {0};
  if (!dirlist_read(dfd, &l)) {
    close(dfd);
    dirlist_free(&l);
    napi_get_null(env, &result);
    return result;
  }

  char obj[160]; /* "xx/" + 62 + suffix (< 64) + NUL */
  for (uint32_t i = 0; i < nfiles; i++) {
    double *o = out + (size_t)i * SCAN_FIELDS;
    napi_value f;
    if (!start_entry(env, argv[1], i, k_name, &f, name, sizeof name, o)) continue;
    stat_entry(dfd, &l, name, o);
    if (o[0] < 0) continue;
    struct stat st;
    if (!get_str_prop(env, f, k_checksum, cs, sizeof cs) || !is_hex64(cs)) {
      o[6] = -2;
      continue;
    }
    char *p = obj;
    p[0] = cs[0];
    p[1] = cs[1];
    p[2] = '/';
    memcpy(p + 3, cs + 2, 62);
    strcpy(p + 65, suffix);
    if (fstatat(ofd, obj, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      o[6] = (double)st.st_dev;
      o[7] = (double)st.st_ino;
    } else
      o[6] = (errno == ENOENT || errno == ENOTDIR) ? -1 : -2;
  }
  for (uint32_t j = 0; j < ndirs; j++) {
    double *o = out + ((size_t)nfiles + j) * SCAN_FIELDS;
    napi_value d;
    if (start_entry(env, argv[2], j, k_name, &d, name, sizeof name, o)) stat_entry(dfd, &l, name, o);
  }
  close(dfd);

  napi_create_array(env, &result);
  uint32_t k = 0;
  for (size_t i = 0; i < l.n; i++) {
    if (l.seen[i]) continue;
    napi_value s;
    if (napi_create_string_utf8(env, l.names[i], NAPI_AUTO_LENGTH, &s) != napi_ok ||
        napi_set_element(env, result, k++, s) != napi_ok) {
      dirlist_free(&l);
      return NULL;
    }
  }
  dirlist_free(&l);
  return result;
}
