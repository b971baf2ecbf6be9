/*
 * walkTrees(objectsDir, roots, contentExt) -> Promise<{ walked, missingFiles, missingMetas,
 *                                                       missingTrees, unread }>
 *
 * Walk, in one trip to libuv's thread pool, the dirtrees a repository holds below `roots` (hex
 * checksums of dirtrees it holds), and say which objects they name that it lacks. An update pull
 * walks every dirtree of the new commit to find the few objects it must fetch; nearly all are
 * already here (the Debian minbase tree: ~700 dirtrees, ~6.8k entries, ~200 objects missing).
 * Done in JS, that walk (a read, a decode and presence lookups per dirtree) kept the main thread
 * busy longer than the fetches it leads to.
 *
 * Each result is a Buffer of 32-byte binary checksums, each listed once:
 *   walked        dirtrees read and walked here (the roots among them);
 *   missingFiles  content objects (`XX/REST.<contentExt>`) not in objectsDir;
 *   missingMetas  dirmeta objects not in objectsDir;
 *   missingTrees  dirtrees not in objectsDir (not walked: the caller fetches them);
 *   unread        dirtrees in objectsDir not walked here: unreadable, too large, or not a
 *                 dirtree this walker reads with certainty (malformed, a name that is not plain
 *                 ASCII, unsorted…): the caller reads them its own way, which gives the error.
 * "Not in objectsDir" means fstatat(2) (no symlink following) did not find it; any error other
 * than absence also lists it as missing, for the caller to look at again.
 *
 * The reader accepts exactly the dirtrees `src/core/dirtree-fast.ts` accepts (GVariant
 * `(a(say)a(sayay))` in normal form, names valid and strictly ascending, no name both a file and
 * a directory), minus non-ASCII names; everything else is left to the caller's decoder.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arbor_native.h"
#include "dirtree_read.h"

/* A growable list of 32-byte checksums. */
typedef struct {
  uint8_t *data;
  size_t n, cap;
} cs_list;

static bool list_add(cs_list *l, const uint8_t *cs) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    uint8_t *d = realloc(l->data, cap * 32);
    if (!d) return false;
    l->data = d;
    l->cap = cap;
  }
  memcpy(l->data + 32 * l->n++, cs, 32);
  return true;
}

/* A set of 32-byte checksums (open addressing; a slot of all zero bytes is empty, so the all-zero
 * checksum is kept aside). Checksums inside a dirtree are whatever its bytes say, so the hash
 * mixes all 32 bytes with a per-walk seed: crafted entries cannot pile onto one slot. */
typedef struct {
  uint8_t *slots;
  size_t cap, n;
  bool has_zero;
  uint64_t seed;
} cs_set;

static uint64_t cs_hash(const cs_set *s, const uint8_t *cs) {
  uint64_t h = s->seed, w;
  for (int i = 0; i < 4; i++) {
    memcpy(&w, cs + 8 * i, 8);
    h ^= w;
    h *= 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  return h;
}

static const uint8_t zero32[32];

/* Insert `cs`; *added tells whether it was new. False when out of memory. */
static bool set_add(cs_set *s, const uint8_t *cs, bool *added) {
  if (memcmp(cs, zero32, 32) == 0) {
    *added = !s->has_zero;
    s->has_zero = true;
    return true;
  }
  if (2 * (s->n + 1) > s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 1024;
    uint8_t *slots = calloc(cap, 32);
    if (!slots) return false;
    for (size_t i = 0; i < s->cap; i++) {
      const uint8_t *old = s->slots + 32 * i;
      if (memcmp(old, zero32, 32) == 0) continue;
      size_t j = cs_hash(s, old) & (cap - 1);
      while (memcmp(slots + 32 * j, zero32, 32) != 0) j = (j + 1) & (cap - 1);
      memcpy(slots + 32 * j, old, 32);
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
  }
  size_t j = cs_hash(s, cs) & (s->cap - 1);
  for (;;) {
    uint8_t *slot = s->slots + 32 * j;
    if (memcmp(slot, zero32, 32) == 0) {
      memcpy(slot, cs, 32);
      s->n++;
      *added = true;
      return true;
    }
    if (memcmp(slot, cs, 32) == 0) {
      *added = false;
      return true;
    }
    j = (j + 1) & (s->cap - 1);
  }
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *dir;
  char ext[8];
  cs_list roots;
  cs_list walked, missing_files, missing_metas, missing_trees, unread;
  int err; /* errno of a failure that stopped the walk (opening objectsDir, out of memory) */
  const char *syscall;
} walk_job;

static void walk_job_free(walk_job *j) {
  free(j->dir);
  free(j->roots.data);
  free(j->walked.data);
  free(j->missing_files.data);
  free(j->missing_metas.data);
  free(j->missing_trees.data);
  free(j->unread.data);
  free(j);
}

/* Whether objectsDir holds the object: 1 yes, 0 no (or it could not be told). */
static int present(int dfd, const uint8_t *cs, const char *ext) {
  char rel[96];
  struct stat st;
  object_rel_path(rel, cs, ext);
  return fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- the walk ---- */

/* Walk one dirtree's bytes: record what it names; its present subtrees go on `stack`. */
static bool walk_one(walk_job *j, int dfd, const uint8_t *b, size_t len, cs_set *files, cs_set *metas,
                     cs_set *trees, cs_list *stack, bool *readable) {
  dirtree_view v;
  *readable = dirtree_parse(b, len, NAMES_ASCII, &v);
  if (!*readable) return true;
  bool ok = true;
  for (size_t i = 0; ok && i < v.nfiles; i++) {
    bool added;
    const uint8_t *cs = b + v.files[i].cs[0];
    ok = set_add(files, cs, &added);
    if (ok && added && !present(dfd, cs, j->ext)) ok = list_add(&j->missing_files, cs);
  }
  for (size_t i = 0; ok && i < v.ndirs; i++) {
    bool added;
    const uint8_t *meta = b + v.dirs[i].cs[1], *tree = b + v.dirs[i].cs[0];
    ok = set_add(metas, meta, &added);
    if (ok && added && !present(dfd, meta, "dirmeta")) ok = list_add(&j->missing_metas, meta);
    if (ok) ok = set_add(trees, tree, &added);
    if (ok && added) ok = list_add(stack, tree);
  }
  dirtree_view_free(&v);
  return ok;
}

static void walk_execute(napi_env env, void *data) {
  walk_job *j = data;
  cs_set files = {0}, metas = {0}, trees = {0};
  cs_list stack = {0};
  uint64_t seed;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) seed = (uint64_t)(uintptr_t)j ^ (uint64_t)getpid() << 32;
  files.seed = seed ^ 1;
  metas.seed = seed ^ 2;
  trees.seed = seed ^ 3;
  int dfd;
  do dfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (dfd < 0 && errno == EINTR);
  if (dfd < 0) {
    j->err = errno;
    j->syscall = "open";
    return;
  }
  bool ok = true;
  for (size_t i = 0; ok && i < j->roots.n; i++) {
    bool added;
    ok = set_add(&trees, j->roots.data + 32 * i, &added);
    if (ok && added) ok = list_add(&stack, j->roots.data + 32 * i);
  }
  while (ok && stack.n > 0) {
    uint8_t cs[32];
    memcpy(cs, stack.data + 32 * --stack.n, 32);
    uint8_t *b = NULL;
    size_t len = 0;
    int err = read_object_whole(dfd, cs, "dirtree", &b, &len);
    if (err == ENOENT) ok = list_add(&j->missing_trees, cs);
    else if (err) ok = list_add(&j->unread, cs);
    else {
      bool readable;
      ok = walk_one(j, dfd, b, len, &files, &metas, &trees, &stack, &readable) &&
           list_add(readable ? &j->walked : &j->unread, cs);
    }
    free(b);
  }
  if (!ok) {
    j->err = ENOMEM;
    j->syscall = "walkTrees";
  }
  close(dfd);
  free(files.slots);
  free(metas.slots);
  free(trees.slots);
  free(stack.data);
}

static void free_data(napi_env env, void *data, void *hint) { free(data); }

/* A Buffer taking over a list's bytes. */
static bool list_buffer(napi_env env, cs_list *l, napi_value *out) {
  if (l->n == 0) {
    void *unused;
    return napi_create_buffer(env, 0, &unused, out) == napi_ok;
  }
  if (napi_create_external_buffer(env, 32 * l->n, l->data, free_data, NULL, out) != napi_ok) return false;
  l->data = NULL;
  return true;
}

static void walk_complete(napi_env env, napi_status status, void *data) {
  walk_job *j = data;
  napi_value result = NULL;
  if (status == napi_ok && j->err) {
    napi_value e = errno_error(env, j->err, j->syscall, j->dir, NULL);
    if (e) napi_reject_deferred(env, j->deferred, e);
    else reject_pool_job(env, j->deferred, "walkTrees");
    napi_delete_async_work(env, j->work);
    walk_job_free(j);
    return;
  }
  if (status == napi_ok && napi_create_object(env, &result) == napi_ok) {
    struct {
      const char *name;
      cs_list *list;
    } fields[] = {{"walked", &j->walked},
                  {"missingFiles", &j->missing_files},
                  {"missingMetas", &j->missing_metas},
                  {"missingTrees", &j->missing_trees},
                  {"unread", &j->unread}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && result; i++) {
      napi_value v;
      if (!list_buffer(env, fields[i].list, &v) || napi_set_named_property(env, result, fields[i].name, v) != napi_ok)
        result = NULL;
    }
  } else result = NULL;
  if (result) napi_resolve_deferred(env, j->deferred, result);
  else reject_pool_job(env, j->deferred, "walkTrees");
  napi_delete_async_work(env, j->work);
  walk_job_free(j);
}

napi_value WalkTrees(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t n = 0;
  const char *usage = "walkTrees takes an objects directory, an array of dirtree checksums and a content extension";
  if (!get_args(env, info, 3, argv)) return NULL;
  bool is_array = false;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &n) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  walk_job *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  char *ext = NULL;
  bool ok = get_cstr(env, argv[0], "objectsDir", &j->dir) && get_cstr(env, argv[2], "contentExt", &ext);
  if (ok && strcmp(ext, "file") != 0 && strcmp(ext, "filez") != 0) {
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", "contentExt must be \"file\" or \"filez\"");
    ok = false;
  }
  if (ok) strcpy(j->ext, ext);
  free(ext);
  for (uint32_t i = 0; ok && i < n; i++) {
    napi_value v;
    uint8_t cs[32];
    ok = napi_get_element(env, argv[1], i, &v) == napi_ok && get_hex_checksum(env, v, cs);
    if (!ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "each root must be a 64-digit lower-case hex checksum");
    } else if (!list_add(&j->roots, cs)) {
      napi_throw_error(env, "ENOMEM", "out of memory");
      ok = false;
    }
  }
  napi_value promise = ok ? queue_pool_job(env, "walkTrees", walk_execute, walk_complete, j, &j->work, &j->deferred)
                          : NULL;
  if (!promise) walk_job_free(j);
  return promise;
}
