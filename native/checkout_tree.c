/*
 * checkoutTree(objectsDir, root, rootTree, kind, options) -> Promise<result>
 * checkoutTreeFinish(handle) -> Promise<undefined>
 *
 * A whole hardlink checkout below a fresh root, done on threads: the walk reads each dirtree and
 * dirmeta here, makes the directories (0700 while they fill), and hardlinks or makes the plain
 * entries (checkout_plain.h), on `options.threads` threads sharing a stack of directories. The
 * JS checkout used to read and decode every dirtree on the main thread and hand each directory's
 * entries over as JS objects; with the directories' modes and times set there too, that was
 * most of a checkout's time on top of the system calls themselves.
 *
 * Like checkoutFiles, it does only the plain cases and hands everything else back, in `rest`:
 *   [0, key, rel, name, checksum]     a file entry not done (the JS checkout does it)
 *   [1, key, rel, null, tree, meta]   a directory not made: its dirtree or dirmeta is one this
 *                                     walker does not read with certainty (absent, malformed,
 *                                     unusual names, a dirmeta with xattrs…); the JS checkout
 *                                     checks that whole subtree out (or reports the error);
 *   [2, key, rel, null, null, null, error]  a directory that could not be made or opened.
 * `rel` is the directory's path below the root ("" for the root, else "/a/b"); `key` (a Buffer
 * of 4-byte big-endian indices) sorts the entries in tree order (files, then subdirectories).
 * The root itself is made (and given its mode) by the caller; if its dirtree is not one for
 * this walker, the result is just [1, key, "", …].
 *
 * The result also counts what was done (dirs, linked, symlinked, created) and holds `handle`:
 * once the caller has done the rest, checkoutTreeFinish(handle) gives every directory made here
 * its mode (`& 0775` with options.canonical), owner (unless options.userMode) and mtime 0,
 * deepest first. options.progress (an Int32Array) counts entries done while the walk runs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arbor_native.h"
#include "checkout_plain.h"
#include "dirtree_read.h"

#define MAX_THREADS 16
#define DIRMETA_PLAIN_SIZE 12 /* (uuua(ayay)) with no xattrs */
#define META_CACHE 32

enum { REST_FILE = 0, REST_DIR = 1, REST_DIR_ERROR = 2 };

/* A directory to check out. */
typedef struct task {
  struct task *next;
  char *path; /* absolute */
  uint8_t *key;
  size_t keylen;
  uint32_t depth;
  uint8_t tree[32], meta[32];
} task;

typedef struct {
  char *path;
  uint32_t mode, uid, gid, depth;
} made_dir;

typedef struct {
  int type;
  uint8_t *key;
  size_t keylen;
  char *rel;
  char *name;
  uint8_t cs[32], meta[32];
  int err;
  const char *syscall;
  char *err_path;
} rest_item;

/* The directories made, kept for checkoutTreeFinish (the handle owns them). */
typedef struct {
  uint32_t magic; /* MADE_MAGIC: checkoutTreeFinish checks the handle is one of these */
  made_dir *dirs;
  size_t n, cap;
  bool user_mode, canonical;
} made_list;

#define MADE_MAGIC 0x61726274u

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *objects_dir;
  size_t objects_len;
  char *root;
  size_t root_len;
  int kind;
  int threads;
  int objects_fd;
  int32_t *progress;
  napi_ref progress_ref;
  uint8_t root_tree[32];

  pthread_mutex_t mu;
  pthread_cond_t cv;
  task *stack;
  int active;
  bool stop;
  made_list *made;
  rest_item *rest;
  size_t nrest, caprest;
  uint64_t linked, symlinked, created;
  int fatal; /* errno that stopped the walk (out of memory, objectsDir unreadable) */
  const char *fatal_syscall;
} tree_job;

typedef struct {
  uint8_t cs[32];
  uint32_t uid, gid, mode;
} meta_entry;

/* Per thread: the dirmetas read (a tree has a handful, shared by hundreds of directories). */
typedef struct {
  meta_entry e[META_CACHE];
  size_t n, next;
} meta_cache;

static void task_free(task *t) {
  if (!t) return;
  free(t->path);
  free(t->key);
  free(t);
}

static void made_free(made_list *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n; i++) free(m->dirs[i].path);
  free(m->dirs);
  free(m);
}

static void job_free(tree_job *j) {
  while (j->stack) {
    task *t = j->stack;
    j->stack = t->next;
    task_free(t);
  }
  for (size_t i = 0; i < j->nrest; i++) {
    free(j->rest[i].key);
    free(j->rest[i].rel);
    free(j->rest[i].name);
    free(j->rest[i].err_path);
  }
  free(j->rest);
  made_free(j->made);
  free(j->objects_dir);
  free(j->root);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  free(j);
}

/* Under j->mu: record a failure that stops the walk. */
static void fail_locked(tree_job *j, int err, const char *syscall) {
  if (!j->fatal) {
    j->fatal = err;
    j->fatal_syscall = syscall;
  }
  j->stop = true;
  pthread_cond_broadcast(&j->cv);
}

static void fail(tree_job *j, int err, const char *syscall) {
  pthread_mutex_lock(&j->mu);
  fail_locked(j, err, syscall);
  pthread_mutex_unlock(&j->mu);
}

static uint8_t *key_with(const uint8_t *key, size_t len, uint32_t index) {
  uint8_t *k = malloc(len + 4);
  if (!k) return NULL;
  if (len) memcpy(k, key, len);
  k[len] = (uint8_t)(index >> 24);
  k[len + 1] = (uint8_t)(index >> 16);
  k[len + 2] = (uint8_t)(index >> 8);
  k[len + 3] = (uint8_t)index;
  return k;
}

/* Hand an entry back (takes key, name and err_path); false when out of memory (the walk stops). */
static bool add_rest(tree_job *j, rest_item *it) {
  bool ok = true;
  pthread_mutex_lock(&j->mu);
  if (j->nrest == j->caprest) {
    size_t cap = j->caprest ? 2 * j->caprest : 64;
    rest_item *r = realloc(j->rest, cap * sizeof *r);
    if (r) {
      j->rest = r;
      j->caprest = cap;
    } else ok = false;
  }
  if (ok) j->rest[j->nrest++] = *it;
  else fail_locked(j, ENOMEM, "checkoutTree");
  pthread_mutex_unlock(&j->mu);
  if (!ok) {
    free(it->key);
    free(it->rel);
    free(it->name);
    free(it->err_path);
  }
  return ok;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* Hand the directory of task t back (takes its key): with err 0, not for this walker (the caller
 * checks out its whole subtree); else the errno of `syscall` that stopped making it. */
static void hand_back_dir(tree_job *j, task *t, int err, const char *syscall) {
  rest_item it = {.type = err ? REST_DIR_ERROR : REST_DIR, .key = t->key, .keylen = t->keylen, .err = err, .syscall = syscall};
  t->key = NULL;
  memcpy(it.cs, t->tree, 32);
  memcpy(it.meta, t->meta, 32);
  it.rel = dup_str(t->path + j->root_len);
  if (err) it.err_path = dup_str(t->path);
  if (!it.rel || (err && !it.err_path)) {
    free(it.rel);
    free(it.err_path);
    free(it.key);
    fail(j, ENOMEM, "checkoutTree");
    return;
  }
  add_rest(j, &it);
}

/* The dirmeta `cs` as (uid, gid, mode) if it is a plain one: 12 bytes (no xattrs) and a valid
 * directory mode (what decodeDirmeta accepts, minus xattrs). */
static bool load_meta(tree_job *j, meta_cache *c, const uint8_t *cs, meta_entry *out) {
  for (size_t i = 0; i < c->n; i++)
    if (memcmp(c->e[i].cs, cs, 32) == 0) {
      *out = c->e[i];
      return true;
    }
  uint8_t *b = NULL;
  size_t len = 0;
  if (read_object_whole(j->objects_fd, cs, "dirmeta", &b, &len) != 0) return false;
  bool ok = len == DIRMETA_PLAIN_SIZE;
  if (ok) {
    memcpy(out->cs, cs, 32);
    out->uid = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    out->gid = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    out->mode = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
    ok = (out->mode & S_IFMT) == S_IFDIR && (out->mode & ~(uint32_t)(S_IFMT | 07777)) == 0;
  }
  free(b);
  if (!ok) return false;
  size_t slot = c->n < META_CACHE ? c->n++ : c->next++ % META_CACHE;
  c->e[slot] = *out;
  return true;
}

/* An empty regular file `name` in dfd with the copy's mode (as checkout-copy.ts finishes a copy in
 * user mode: no setuid/setgid). False (nothing left behind) when it cannot be made. */
static bool make_empty(int dfd, const char *name, uint32_t mode) {
  int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = fchmod(fd, mode & 07777 & ~(uint32_t)06000) == 0;
  close(fd);
  if (!ok) unlinkat(dfd, name, 0);
  return ok;
}

/* Check out one directory: its entries, and its subdirectories pushed as tasks. */
static void run_task(tree_job *j, task *t, meta_cache *cache) {
  bool is_root = t->depth == 0;
  uint8_t *b = NULL;
  size_t len = 0;
  dirtree_view v;
  meta_entry meta;
  if (read_object_whole(j->objects_fd, t->tree, "dirtree", &b, &len) != 0) {
    hand_back_dir(j, t, 0, NULL);
    return;
  }
  if (!dirtree_parse(b, len, NAMES_UTF8, &v)) {
    free(b);
    hand_back_dir(j, t, 0, NULL);
    return;
  }
  if (!is_root && !load_meta(j, cache, t->meta, &meta)) {
    dirtree_view_free(&v);
    free(b);
    hand_back_dir(j, t, 0, NULL);
    return;
  }
  if (!is_root) {
    if (mkdir(t->path, 0700) != 0) {
      dirtree_view_free(&v);
      free(b);
      hand_back_dir(j, t, errno, "mkdir");
      return;
    }
    char *p = dup_str(t->path);
    pthread_mutex_lock(&j->mu);
    made_list *m = j->made;
    if (p && m->n == m->cap) {
      size_t cap = m->cap ? 2 * m->cap : 256;
      made_dir *d = realloc(m->dirs, cap * sizeof *d);
      if (d) {
        m->dirs = d;
        m->cap = cap;
      }
    }
    if (p && m->n < m->cap) {
      uint32_t mode = m->canonical ? meta.mode & 0775 : meta.mode & 07777;
      m->dirs[m->n++] = (made_dir){p, mode, meta.uid, meta.gid, t->depth};
      p = NULL;
    } else fail_locked(j, ENOMEM, "checkoutTree");
    pthread_mutex_unlock(&j->mu);
    if (p) {
      free(p);
      dirtree_view_free(&v);
      free(b);
      return;
    }
  }
  int dfd = open(t->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) {
    dirtree_view_free(&v);
    free(b);
    hand_back_dir(j, t, errno, "open");
    return;
  }
  char src[PATH_MAX], target[PATH_MAX];
  uint64_t linked = 0, symlinked = 0, created = 0;
  bool ok = true;
  /* "OBJECTS/XX/REST.file" must fit: where it does not, every entry goes back to the caller */
  bool fits = j->objects_len + 1 + 64 + 7 < sizeof src;
  if (fits) {
    memcpy(src, j->objects_dir, j->objects_len);
    src[j->objects_len] = '/';
  }
  for (size_t i = 0; ok && i < v.nfiles; i++) {
    const char *name = (const char *)b + v.files[i].name;
    const uint8_t *cs = b + v.files[i].cs[0];
    uint32_t mode = 0;
    plain_kind what = NOT_PLAIN;
    if (fits) {
      object_rel_path(src + j->objects_len + 1, cs, "file");
      what = checkout_classify(src, j->kind, j->kind != LINK_BARE, target, sizeof target, &mode);
    }
    bool done = false;
    /* linkat flags 0: a symlink object (bare) is linked itself; an existing name fails (EEXIST) */
    if (what == PLAIN_LINK && linkat(AT_FDCWD, src, dfd, name, 0) == 0) done = true, linked++;
    else if (what == PLAIN_SYMLINK && symlinkat(target, dfd, name) == 0) done = true, symlinked++;
    else if (what == PLAIN_EMPTY && make_empty(dfd, name, mode)) done = true, created++;
    if (done) {
      if (j->progress) __atomic_fetch_add(j->progress, 1, __ATOMIC_RELAXED);
      continue;
    }
    rest_item it = {.type = REST_FILE};
    it.key = key_with(t->key, t->keylen, (uint32_t)i);
    it.keylen = t->keylen + 4;
    it.rel = dup_str(t->path + j->root_len);
    it.name = dup_str(name);
    memcpy(it.cs, cs, 32);
    if (!it.key || !it.rel || !it.name) {
      free(it.key);
      free(it.rel);
      free(it.name);
      fail(j, ENOMEM, "checkoutTree");
      ok = false;
    } else ok = add_rest(j, &it);
  }
  close(dfd);
  /* subdirectories, in order (made last to first), then spliced onto the stack: the first is
   * taken first */
  task *children = NULL, *last = NULL;
  size_t plen = strlen(t->path);
  for (size_t i = v.ndirs; ok && i-- > 0;) {
    const char *name = (const char *)b + v.dirs[i].name;
    size_t nlen = strlen(name);
    task *c = calloc(1, sizeof *c);
    if (c) {
      c->path = malloc(plen + 1 + nlen + 1);
      c->key = key_with(t->key, t->keylen, (uint32_t)(v.nfiles + i));
    }
    if (!c || !c->path || !c->key) {
      task_free(c);
      fail(j, ENOMEM, "checkoutTree");
      ok = false;
      break;
    }
    memcpy(c->path, t->path, plen);
    c->path[plen] = '/';
    memcpy(c->path + plen + 1, name, nlen + 1);
    c->keylen = t->keylen + 4;
    c->depth = t->depth + 1;
    memcpy(c->tree, b + v.dirs[i].cs[0], 32);
    memcpy(c->meta, b + v.dirs[i].cs[1], 32);
    if (!last) last = c;
    c->next = children;
    children = c;
  }
  pthread_mutex_lock(&j->mu);
  j->linked += linked;
  j->symlinked += symlinked;
  j->created += created;
  if (children) {
    last->next = j->stack;
    j->stack = children;
    pthread_cond_broadcast(&j->cv);
  }
  pthread_mutex_unlock(&j->mu);
  dirtree_view_free(&v);
  free(b);
}

static void *worker(void *arg) {
  tree_job *j = arg;
  meta_cache *cache = calloc(1, sizeof *cache);
  if (!cache) {
    fail(j, ENOMEM, "checkoutTree");
    return NULL;
  }
  pthread_mutex_lock(&j->mu);
  for (;;) {
    while (!j->stack && j->active > 0 && !j->stop) pthread_cond_wait(&j->cv, &j->mu);
    if (j->stop || !j->stack) break;
    task *t = j->stack;
    j->stack = t->next;
    j->active++;
    pthread_mutex_unlock(&j->mu);
    run_task(j, t, cache);
    task_free(t);
    pthread_mutex_lock(&j->mu);
    j->active--;
    if (j->active == 0 && !j->stack) pthread_cond_broadcast(&j->cv);
  }
  pthread_mutex_unlock(&j->mu);
  free(cache);
  return NULL;
}

static void tree_execute(napi_env env, void *data) {
  tree_job *j = data;
  do j->objects_fd = open(j->objects_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (j->objects_fd < 0 && errno == EINTR);
  if (j->objects_fd < 0) {
    j->fatal = errno;
    j->fatal_syscall = "open";
    return;
  }
  task *root = calloc(1, sizeof *root);
  if (root) root->path = dup_str(j->root);
  if (!root || !root->path) {
    task_free(root);
    close(j->objects_fd);
    j->fatal = ENOMEM;
    j->fatal_syscall = "checkoutTree";
    return;
  }
  memcpy(root->tree, j->root_tree, 32);
  j->stack = root;
  pthread_t ids[MAX_THREADS];
  int started = 0;
  for (int i = 1; i < j->threads; i++)
    if (pthread_create(&ids[started], NULL, worker, j) == 0) started++;
  worker(j);
  for (int i = 0; i < started; i++) pthread_join(ids[i], NULL);
  close(j->objects_fd);
}

static void made_finalize(napi_env env, void *data, void *hint) { made_free(data); }

static napi_value hex_value(napi_env env, const uint8_t *cs) {
  char hex[65];
  napi_value v;
  checksum_hex(hex, cs);
  return napi_create_string_latin1(env, hex, 64, &v) == napi_ok ? v : NULL;
}

static napi_value rest_value(napi_env env, const rest_item *it) {
  napi_value arr, v, nul;
  napi_get_null(env, &nul);
  if (napi_create_array_with_length(env, 7, &arr) != napi_ok) return NULL;
  void *kd;
  bool ok = napi_create_uint32(env, (uint32_t)it->type, &v) == napi_ok && napi_set_element(env, arr, 0, v) == napi_ok &&
            napi_create_buffer_copy(env, it->keylen, it->key ? (const void *)it->key : "", &kd, &v) == napi_ok &&
            napi_set_element(env, arr, 1, v) == napi_ok &&
            napi_create_string_utf8(env, it->rel, NAPI_AUTO_LENGTH, &v) == napi_ok &&
            napi_set_element(env, arr, 2, v) == napi_ok;
  if (!ok) return NULL;
  napi_value name = nul, a = nul, m = nul, err = nul;
  if (it->type == REST_FILE) {
    if (napi_create_string_utf8(env, it->name, NAPI_AUTO_LENGTH, &name) != napi_ok || !(a = hex_value(env, it->cs)))
      return NULL;
  } else if (it->type == REST_DIR) {
    if (!(a = hex_value(env, it->cs)) || !(m = hex_value(env, it->meta))) return NULL;
  } else if (!(err = errno_error(env, it->err, it->syscall, it->err_path, NULL)))
    return NULL;
  ok = napi_set_element(env, arr, 3, name) == napi_ok && napi_set_element(env, arr, 4, a) == napi_ok &&
       napi_set_element(env, arr, 5, m) == napi_ok && napi_set_element(env, arr, 6, err) == napi_ok;
  return ok ? arr : NULL;
}

static bool set_count(napi_env env, napi_value obj, const char *key, uint64_t n) {
  napi_value v;
  return napi_create_double(env, (double)n, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static void tree_complete(napi_env env, napi_status status, void *data) {
  tree_job *j = data;
  napi_value result = NULL, v;
  if (j->progress_ref) napi_delete_reference(env, j->progress_ref);
  if (status == napi_ok && j->fatal) {
    napi_value e = errno_error(env, j->fatal, j->fatal_syscall, j->objects_dir, NULL);
    if (e) napi_reject_deferred(env, j->deferred, e);
    else reject_pool_job(env, j->deferred, "checkoutTree");
    napi_delete_async_work(env, j->work);
    job_free(j);
    return;
  }
  bool ok = status == napi_ok && napi_create_object(env, &result) == napi_ok &&
            set_count(env, result, "dirs", j->made->n) && set_count(env, result, "linked", j->linked) &&
            set_count(env, result, "symlinked", j->symlinked) && set_count(env, result, "created", j->created) &&
            napi_create_array_with_length(env, j->nrest, &v) == napi_ok &&
            napi_set_named_property(env, result, "rest", v) == napi_ok;
  for (size_t i = 0; ok && i < j->nrest; i++) {
    napi_value it = rest_value(env, &j->rest[i]);
    ok = it && napi_set_element(env, v, (uint32_t)i, it) == napi_ok;
  }
  if (ok && napi_create_external(env, j->made, made_finalize, NULL, &v) == napi_ok) {
    j->made = NULL; /* the handle owns it now */
    ok = napi_set_named_property(env, result, "handle", v) == napi_ok;
  } else ok = false;
  if (ok) napi_resolve_deferred(env, j->deferred, result);
  else reject_pool_job(env, j->deferred, "checkoutTree");
  napi_delete_async_work(env, j->work);
  job_free(j);
}

static bool get_bool_prop(napi_env env, napi_value obj, const char *key, bool *out) {
  napi_value v;
  napi_valuetype t;
  *out = false;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined) return true;
  return napi_get_value_bool(env, v, out) == napi_ok;
}

napi_value CheckoutTree(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  const char *usage = "checkoutTree takes objectsDir, an absolute root, a dirtree checksum, a kind and options";
  if (!get_args(env, info, 5, argv)) return NULL;
  tree_job *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  j->made = calloc(1, sizeof *j->made);
  if (j->made) j->made->magic = MADE_MAGIC;
  uint32_t kind = 0, threads = 1;
  napi_valuetype t;
  bool ok = j->made && get_cstr(env, argv[0], "objectsDir", &j->objects_dir) &&
            get_cstr(env, argv[1], "root", &j->root) && get_u32(env, argv[3], "kind", &kind);
  if (ok && (j->root[0] != '/' || strspn(j->root, "/") == strlen(j->root) || kind > LINK_BARE_USER_ONLY)) {
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", usage);
    ok = false;
  }
  if (ok) {
    ok = get_hex_checksum(env, argv[2], j->root_tree);
    if (!ok) napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "rootTree must be a 64-digit lower-case hex checksum");
  }
  if (ok) {
    napi_value o = argv[4], v;
    ok = napi_typeof(env, o, &t) == napi_ok && t == napi_object &&
         get_bool_prop(env, o, "userMode", &j->made->user_mode) &&
         get_bool_prop(env, o, "canonical", &j->made->canonical) &&
         napi_get_named_property(env, o, "threads", &v) == napi_ok && get_u32(env, v, "threads", &threads);
    if (ok && (threads < 1 || threads > MAX_THREADS)) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "threads must be 1 to 16");
      ok = false;
    }
    napi_value p;
    bool is_ta = false;
    if (ok && napi_get_named_property(env, o, "progress", &p) == napi_ok && napi_is_typedarray(env, p, &is_ta) == napi_ok &&
        is_ta) {
      napi_typedarray_type tt;
      size_t n;
      void *data;
      ok = napi_get_typedarray_info(env, p, &tt, &n, &data, NULL, NULL) == napi_ok && tt == napi_int32_array && n >= 1 &&
           napi_create_reference(env, p, 1, &j->progress_ref) == napi_ok;
      if (ok) j->progress = data;
      else napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "progress must be an Int32Array");
    }
    if (!ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    }
  }
  if (!ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ENOMEM", "out of memory");
    if (j->progress_ref) napi_delete_reference(env, j->progress_ref);
    job_free(j);
    return NULL;
  }
  j->kind = (int)kind;
  j->threads = (int)threads;
  j->objects_len = strlen(j->objects_dir);
  /* the root without trailing slashes (it is not "/"): a directory's rel is what follows it */
  j->root_len = strlen(j->root);
  while (j->root[j->root_len - 1] == '/') j->root[--j->root_len] = 0;
  napi_value promise = queue_pool_job(env, "checkoutTree", tree_execute, tree_complete, j, &j->work, &j->deferred);
  if (!promise) {
    if (j->progress_ref) napi_delete_reference(env, j->progress_ref);
    job_free(j);
  }
  return promise;
}

/* ---- checkoutTreeFinish ---- */

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  made_list *made; /* borrowed from the handle, which the job holds a reference to */
  napi_ref handle_ref;
  int err;
  const char *syscall;
  char *err_path;
} finish_job;

static int by_depth_desc(const void *a, const void *b) {
  const made_dir *x = a, *y = b;
  return x->depth < y->depth ? 1 : x->depth > y->depth ? -1 : 0;
}

static void finish_execute(napi_env env, void *data) {
  finish_job *f = data;
  made_list *m = f->made;
  /* deepest first: a directory gets its (maybe read-only) mode and its mtime once nothing more is
   * made in it, and searching a parent is still allowed while its children are finished */
  qsort(m->dirs, m->n, sizeof *m->dirs, by_depth_desc);
  static const struct timespec zero[2] = {{0, 0}, {0, 0}};
  for (size_t i = 0; i < m->n; i++) {
    made_dir *d = &m->dirs[i];
    const char *syscall = NULL;
    if (chmod(d->path, d->mode) != 0) syscall = "chmod";
    else if (!m->user_mode && lchown(d->path, d->uid, d->gid) != 0) syscall = "chown";
    else if (utimensat(AT_FDCWD, d->path, zero, AT_SYMLINK_NOFOLLOW) != 0) syscall = "utime";
    if (syscall) {
      f->err = errno;
      f->syscall = syscall;
      f->err_path = dup_str(d->path);
      break;
    }
  }
  /* done once: a second call finds nothing to do */
  for (size_t i = 0; i < m->n; i++) free(m->dirs[i].path);
  m->n = 0;
}

static void finish_complete(napi_env env, napi_status status, void *data) {
  finish_job *f = data;
  napi_value v = NULL;
  if (status == napi_ok && f->err) {
    napi_value e = errno_error(env, f->err, f->syscall, f->err_path ? f->err_path : "", NULL);
    if (e) napi_reject_deferred(env, f->deferred, e);
    else reject_pool_job(env, f->deferred, "checkoutTreeFinish");
  } else if (status == napi_ok && napi_get_undefined(env, &v) == napi_ok)
    napi_resolve_deferred(env, f->deferred, v);
  else reject_pool_job(env, f->deferred, "checkoutTreeFinish");
  napi_delete_reference(env, f->handle_ref);
  napi_delete_async_work(env, f->work);
  free(f->err_path);
  free(f);
}

napi_value CheckoutTreeFinish(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype t;
  void *data = NULL;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || !data ||
      ((made_list *)data)->magic != MADE_MAGIC) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkoutTreeFinish takes the handle checkoutTree gave");
    return NULL;
  }
  finish_job *f = calloc(1, sizeof *f);
  if (!f) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  f->made = data;
  if (napi_create_reference(env, argv[0], 1, &f->handle_ref) != napi_ok) {
    free(f);
    napi_throw_error(env, NULL, "checkoutTreeFinish: cannot hold the handle");
    return NULL;
  }
  napi_value promise =
      queue_pool_job(env, "checkoutTreeFinish", finish_execute, finish_complete, f, &f->work, &f->deferred);
  if (!promise) {
    napi_delete_reference(env, f->handle_ref);
    free(f);
  }
  return promise;
}
