/*
 * checkoutFiles / checkoutDirs: the hot loop of a hardlink checkout, done here so that a
 * directory's files cost one call from JS instead of an lstat, an xattr read and a link each
 * through Node's fs (with their Stats objects, path checks and exceptions), and on libuv's thread
 * pool so that the links are made while the main thread reads the next dirtrees. checkoutDirs
 * takes several directories per trip and, below a checkout's fresh root, makes them too (a mkdir
 * on the main thread cost about as much as a small directory's links).
 *
 * It only handles the plain cases: an object hardlinked into the checkout as it is, and (bare-user,
 * user mode) a symlink object, which becomes a new symlink. Anything else (a missing or odd object,
 * an empty file that must be copied, an object with xattrs in its user.ostreemeta, a link that
 * fails for any reason, an unusual name or symlink target) is left alone and marked "not done":
 * the caller then checks that entry out itself, with all its rules and exact error messages. So
 * these functions never report errors about the tree's entries; they only decide "plain, done" or
 * "not for me" (checkoutDirs reports a directory it could not make).
 *
 * Which objects are plain (as checkout.ts decides):
 *   LINK_BARE           (bare repo, normal checkout): a regular file with data, or a symlink:
 *                       hardlinked;
 *   LINK_BARE_USER      (bare-user repo, user mode): user.ostreemeta exactly (uid, gid, mode) with
 *                       no xattrs, and either a regular-file mode readable by its owner and data
 *                       (hardlinked), or a symlink mode whose object holds "TARGET\0" with TARGET
 *                       valid UTF-8 without NUL (a symlink to TARGET is made);
 *   LINK_BARE_USER_ONLY (bare-user-only repo): a regular file with data readable by its owner:
 *                       hardlinked.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "arbor_native.h"
#include "checkout_plain.h"
#include "dirtree_read.h"


/* (uuua(ayay)) with an empty xattr array: three big-endian u32, nothing else. */
#define USER_META_PLAIN_SIZE 12
#define CHECKSUM_HEX 64

static bool is_hex_checksum(const char *s, size_t len) {
  if (len != CHECKSUM_HEX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

/* A single path component that needs no further thought: not empty, ".", "..", and no '/'. */
static bool is_plain_name(const char *s, size_t len) {
  if (len == 0 || strlen(s) != len || memchr(s, '/', len)) return false;
  return !(s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.')));
}

/* The target of a bare-user symlink object ("TARGET\0") into buf, if it is a plain one. */
static bool read_symlink_object(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) len = 0;
      break;
    }
    len += (size_t)n;
    if (len == cap) { /* too long for a symlink target here: let the caller decide */
      len = 0;
      break;
    }
  }
  close(fd);
  if (len < 2 || buf[len - 1] != 0 || strlen(buf) != len - 1) return false;
  return utf8_strict((const unsigned char *)buf, len - 1);
}

plain_kind checkout_classify(const char *path, int kind, bool extended, char *target, size_t cap,
                             uint32_t *mode_out) {
  struct stat st;
  if (lstat(path, &st) != 0) return NOT_PLAIN;
  if (kind == LINK_BARE)
    return S_ISLNK(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size > 0) ? PLAIN_LINK : NOT_PLAIN;
  if (kind == LINK_BARE_USER_ONLY && S_ISLNK(st.st_mode) && extended) {
    /* a bare-user-only symlink object is the symlink itself: made anew (as a copy would be) */
    ssize_t n = readlink(path, target, cap);
    if (n <= 0 || (size_t)n >= cap) return NOT_PLAIN;
    target[n] = 0;
    return strlen(target) == (size_t)n && utf8_strict((const unsigned char *)target, (size_t)n) ? PLAIN_SYMLINK
                                                                                                  : NOT_PLAIN;
  }
  if (!S_ISREG(st.st_mode)) return NOT_PLAIN;
  if (kind == LINK_BARE_USER_ONLY) {
    *mode_out = st.st_mode;
    if (!(st.st_mode & S_IRUSR)) return NOT_PLAIN; /* copied with 0400 added: the JS checkout's */
    return st.st_size > 0 ? PLAIN_LINK : extended ? PLAIN_EMPTY : NOT_PLAIN;
  }
  unsigned char meta[USER_META_PLAIN_SIZE];
  /* a larger value (xattrs present) fails with ERANGE: not plain */
  if (lgetxattr(path, "user.ostreemeta", meta, sizeof meta) != USER_META_PLAIN_SIZE) return NOT_PLAIN;
  uint32_t mode = (uint32_t)meta[8] << 24 | (uint32_t)meta[9] << 16 | (uint32_t)meta[10] << 8 | meta[11];
  *mode_out = mode;
  if ((mode & S_IFMT) == S_IFREG) {
    if (!(mode & S_IRUSR)) return NOT_PLAIN; /* copied with 0400 added: the JS checkout's */
    return st.st_size > 0 ? PLAIN_LINK : extended ? PLAIN_EMPTY : NOT_PLAIN;
  }
  if ((mode & S_IFMT) == S_IFLNK && read_symlink_object(path, target, cap)) return PLAIN_SYMLINK;
  return NOT_PLAIN;
}

/* One directory's worth of work, copied out of JS (the pool thread cannot touch JS values). */
typedef struct {
  char *dest_dir;
  int mkdir_err; /* errno of making dest_dir (with a mkdir root); the files are then not done */
  uint32_t n;
  char (*checksums)[CHECKSUM_HEX + 1]; /* "" when not a plain checksum */
  uint32_t *name_off;                  /* into names; UINT32_MAX when not a plain name */
  char *names;
  uint8_t *status; /* per entry: CF_NOT_DONE, CF_LINKED, CF_SYMLINKED */
} batch;

/* One trip to the pool: one directory (checkoutFiles) or several in order (checkoutDirs). */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *objects_dir;
  char *mkdir_root; /* when set: make each dest_dir (and missing parents below it) first */
  int kind;
  bool many; /* settle with an array of per-directory outcomes (checkoutDirs) */
  uint32_t n;
  batch *dirs;
} checkout_job;

enum { CF_NOT_DONE = 0, CF_LINKED = 1, CF_SYMLINKED = 2 };

static void job_free(checkout_job *j) {
  for (uint32_t i = 0; i < j->n; i++) {
    batch *b = &j->dirs[i];
    free(b->dest_dir);
    free(b->checksums);
    free(b->name_off);
    free(b->names);
    free(b->status);
  }
  free(j->dirs);
  free(j->objects_dir);
  free(j->mkdir_root);
  free(j);
}

/*
 * Make `dir` (mode 0700) for a checkout whose fresh root is `root` (dir is below it). Batches run
 * on several pool threads, so a directory's batch may run before its parent's: missing parents
 * are made here too, component by component without following symlinks, and a directory another
 * batch made meanwhile is fine. 0, or the errno that stopped it.
 */
static int make_dir(const char *root, const char *dir) {
  if (mkdir(dir, 0700) == 0) return 0;
  int err = errno;
  struct stat st;
  if (err == EEXIST) return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : EEXIST;
  if (err != ENOENT) return err;
  size_t rlen = strlen(root);
  if (strncmp(dir, root, rlen) != 0 || dir[rlen] != '/') return ENOENT;
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  char comp[NAME_MAX + 1];
  for (const char *p = dir + rlen + 1; *p;) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (len == 0 || len > NAME_MAX) {
      close(fd);
      return EINVAL;
    }
    memcpy(comp, p, len);
    comp[len] = 0;
    if (mkdirat(fd, comp, 0700) != 0 && errno != EEXIST) {
      err = errno;
      close(fd);
      return err;
    }
    int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    err = errno;
    close(fd);
    if (next < 0) return err == ELOOP ? EEXIST : err;
    fd = next;
    p += len;
    if (*p == '/') p++;
  }
  close(fd);
  return 0;
}

/* Pool thread, no JS here: one directory. */
static void batch_run(const checkout_job *j, batch *b) {
  if (j->mkdir_root && (b->mkdir_err = make_dir(j->mkdir_root, b->dest_dir)) != 0) return;
  char src[PATH_MAX], dst[PATH_MAX], target[PATH_MAX];
  size_t olen = strlen(j->objects_dir), dlen = strlen(b->dest_dir);
  /* "OBJECTS/XX/" + 62 + ".file" and "DEST/" + a name of up to NAME_MAX bytes */
  if (olen + 1 + CHECKSUM_HEX + 1 + 5 + 1 > sizeof src || dlen + 1 + NAME_MAX + 1 > sizeof dst) return;
  memcpy(src, j->objects_dir, olen);
  src[olen] = '/';
  memcpy(dst, b->dest_dir, dlen);
  dst[dlen] = '/';
  for (uint32_t i = 0; i < b->n; i++) {
    const char *cs = b->checksums[i];
    if (!cs[0] || b->name_off[i] == UINT32_MAX) continue;
    const char *name = b->names + b->name_off[i];
    memcpy(dst + dlen + 1, name, strlen(name) + 1);
    char *p = src + olen + 1;
    p[0] = cs[0];
    p[1] = cs[1];
    p[2] = '/';
    memcpy(p + 3, cs + 2, CHECKSUM_HEX - 2);
    memcpy(p + 3 + CHECKSUM_HEX - 2, ".file", 6);
    uint32_t mode;
    plain_kind what = checkout_classify(src, j->kind, false, target, sizeof target, &mode);
    /* linkat flags 0: a symlink object (bare) is linked itself; an existing dst fails (EEXIST) */
    if (what == PLAIN_LINK && linkat(AT_FDCWD, src, AT_FDCWD, dst, 0) == 0) b->status[i] = CF_LINKED;
    else if (what == PLAIN_SYMLINK && symlink(target, dst) == 0) b->status[i] = CF_SYMLINKED;
  }
}

/* Pool thread: the directories in order (a parent listed before its children is made first). */
static void job_execute(napi_env env, void *data) {
  checkout_job *j = data;
  for (uint32_t i = 0; i < j->n; i++) batch_run(j, &j->dirs[i]);
}

/* One directory's outcome for JS: its status bytes, or the error that stopped making it. */
static napi_value batch_outcome(napi_env env, const batch *b) {
  napi_value v = NULL;
  if (b->mkdir_err) return errno_error(env, b->mkdir_err, "mkdir", b->dest_dir, NULL);
  return napi_create_buffer_copy(env, b->n, b->status, NULL, &v) == napi_ok ? v : NULL;
}

/* Main thread: checkoutDirs resolves with every outcome; checkoutFiles with its one directory's
 * statuses (it makes no directory, so has no error to give). */
static void job_complete(napi_env env, napi_status status, void *data) {
  checkout_job *j = data;
  const char *what = j->many ? "checkoutDirs" : "checkoutFiles";
  napi_value result = NULL;
  if (status != napi_ok) result = NULL;
  else if (!j->many) result = batch_outcome(env, &j->dirs[0]);
  else if (napi_create_array_with_length(env, j->n, &result) == napi_ok) {
    for (uint32_t i = 0; i < j->n && result; i++) {
      napi_value v = batch_outcome(env, &j->dirs[i]);
      if (!v || napi_set_element(env, result, i, v) != napi_ok) result = NULL;
    }
  } else result = NULL;
  if (result) napi_resolve_deferred(env, j->deferred, result);
  else reject_pool_job(env, j->deferred, what);
  napi_delete_async_work(env, j->work);
  job_free(j);
}

/* Read `key` of `obj` as a string into buf (size cap); false if absent, not a string or too long. */
static bool get_str_prop(napi_env env, napi_value obj, napi_value key, char *buf, size_t cap, size_t *len) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_string)
    return false;
  if (napi_get_value_string_utf8(env, v, buf, cap, len) != napi_ok) return false;
  return *len < cap - 1; /* cap - 1 bytes may mean truncated */
}

/* Copy files[i].checksum and files[i].name into the batch (marking odd ones "not plain"). */
static bool batch_copy_entries(napi_env env, napi_value files, batch *b) {
  napi_value k_name, k_checksum;
  napi_create_string_utf8(env, "name", NAPI_AUTO_LENGTH, &k_name);
  napi_create_string_utf8(env, "checksum", NAPI_AUTO_LENGTH, &k_checksum);
  size_t cap = (size_t)b->n * 16 + 64, used = 0;
  b->names = malloc(cap);
  if (!b->names) return false;
  for (uint32_t i = 0; i < b->n; i++) {
    napi_value entry;
    napi_valuetype t;
    char name[NAME_MAX + 1];
    size_t cs_len = 0, name_len = 0;
    b->checksums[i][0] = 0;
    b->name_off[i] = UINT32_MAX;
    if (napi_get_element(env, files, i, &entry) != napi_ok || napi_typeof(env, entry, &t) != napi_ok ||
        t != napi_object)
      continue;
    char cs[CHECKSUM_HEX + 2];
    if (!get_str_prop(env, entry, k_checksum, cs, sizeof cs, &cs_len) || !is_hex_checksum(cs, cs_len)) continue;
    if (!get_str_prop(env, entry, k_name, name, sizeof name, &name_len) || !is_plain_name(name, name_len)) continue;
    if (used + name_len + 1 > cap) {
      size_t ncap = (used + name_len + 1) * 2;
      char *grown = realloc(b->names, ncap);
      if (!grown) return false;
      b->names = grown;
      cap = ncap;
    }
    memcpy(b->checksums[i], cs, CHECKSUM_HEX + 1);
    memcpy(b->names + used, name, name_len + 1);
    b->name_off[i] = (uint32_t)used;
    used += name_len + 1;
  }
  return true;
}

/* One directory of a job: its destDir and files (a dirtree's files); throws and returns false on bad
 * input or when out of memory. */
static bool batch_parse(napi_env env, napi_value dest, napi_value files, batch *b) {
  bool is_array = false;
  if (napi_is_array(env, files, &is_array) != napi_ok || !is_array || napi_get_array_length(env, files, &b->n) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "files must be an array");
    return false;
  }
  if (!get_cstr(env, dest, "destDir", &b->dest_dir)) return false;
  b->checksums = malloc(((size_t)b->n + 1) * sizeof *b->checksums);
  b->name_off = malloc(((size_t)b->n + 1) * sizeof *b->name_off);
  b->status = calloc((size_t)b->n + 1, 1);
  if (!b->checksums || !b->name_off || !b->status || !batch_copy_entries(env, files, b)) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return false;
  }
  return true;
}

/* A job for `n` directories of objectsDir with link kind `kind_v`; NULL (thrown) on bad input. */
static checkout_job *job_new(napi_env env, napi_value objects_dir, napi_value kind_v, uint32_t n, bool many) {
  uint32_t kind = 0;
  if (!get_u32(env, kind_v, "kind", &kind)) return NULL;
  if (kind > LINK_BARE_USER_ONLY) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "kind must be 0 (bare), 1 (bare-user) or 2 (bare-user-only)");
    return NULL;
  }
  checkout_job *j = calloc(1, sizeof *j);
  if (j) j->dirs = calloc(n ? n : 1, sizeof *j->dirs);
  if (!j || !j->dirs) {
    free(j);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  j->kind = (int)kind;
  j->many = many;
  if (!get_cstr(env, objects_dir, "objectsDir", &j->objects_dir)) {
    job_free(j);
    return NULL;
  }
  return j;
}

/* Queue `j` and return its promise; NULL (thrown, `j` freed) on failure. */
static napi_value job_queue(napi_env env, checkout_job *j) {
  napi_value promise =
      queue_pool_job(env, j->many ? "checkoutDirs" : "checkoutFiles", job_execute, job_complete, j, &j->work, &j->deferred);
  if (!promise) job_free(j);
  return promise;
}

/*
 * checkoutFiles(objectsDir, destDir, files, kind) -> Promise<Buffer>
 *   files: Array<{ name: string, checksum: string }> (a dirtree's files)
 * On a pool thread, checks out each plain entry from objectsDir/XX/REST.file to destDir/NAME (an
 * existing directory): hardlink, or symlink for bare-user; resolves with one status byte per
 * entry: 0 not done, 1 hardlinked, 2 symlink made.
 */
napi_value CheckoutFiles(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  checkout_job *j = job_new(env, argv[0], argv[3], 1, false);
  if (!j) return NULL;
  j->n = 1;
  if (!batch_parse(env, argv[1], argv[2], &j->dirs[0])) {
    job_free(j);
    return NULL;
  }
  return job_queue(env, j);
}

/*
 * checkoutDirs(objectsDir, dirs, kind[, mkdirRoot]) -> Promise<Array<Buffer | Error>>
 *   dirs: Array<[destDir, files]>, each as checkoutFiles's destDir and files
 * checkoutFiles for several directories in one trip to the pool, in order. With `mkdirRoot` (the
 * fresh root of a checkout, above every destDir), each destDir is made first (0700, see
 * make_dir): a directory listed after its parent is made after it. Per directory, its status
 * bytes, or the system error (syscall "mkdir", path destDir) that stopped making it (its files
 * are then not done).
 */
napi_value CheckoutDirs(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t n = 0;
  size_t argc = 4;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  bool is_array = false;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &n) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "dirs must be an array of [destDir, files]");
    return NULL;
  }
  checkout_job *j = job_new(env, argv[0], argv[2], n, true);
  if (!j) return NULL;
  napi_valuetype root_type = napi_undefined;
  if (argc > 3 && (napi_typeof(env, argv[3], &root_type) != napi_ok ||
                   (root_type != napi_undefined && !get_cstr(env, argv[3], "mkdirRoot", &j->mkdir_root)))) {
    job_free(j);
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item, dest, files;
    uint32_t len = 0;
    j->n = i + 1;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok || napi_is_array(env, item, &is_array) != napi_ok ||
        !is_array || napi_get_array_length(env, item, &len) != napi_ok || len != 2) {
      char msg[64];
      snprintf(msg, sizeof msg, "dirs[%u] must be [destDir, files]", i);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
      job_free(j);
      return NULL;
    }
    napi_get_element(env, item, 0, &dest);
    napi_get_element(env, item, 1, &files);
    if (!batch_parse(env, dest, files, &j->dirs[i])) {
      job_free(j);
      return NULL;
    }
  }
  return job_queue(env, j);
}
