/*
 * readFiles(paths, limit) -> Promise<Array<Buffer | number | Error>>
 *
 * Read many small files in a single trip to libuv's thread pool: for each path, open it, fstat
 * it and, if it holds at most `limit` bytes, read it whole. A pull-local from an archive
 * repository reads every source object (thousands of files of a few KiB): done on the main
 * thread that was four system calls per object (~55 µs there on the reference machine), and
 * through Node's async fs four trips to the pool.
 *
 * Each path's outcome, in order: a Buffer with the whole file; the file's size (a number) when
 * it is larger than `limit` (not read: the caller streams it); or a Node-style system error
 * (`code`, `errno`, `syscall`, `path`). One failing does not stop the others. A file that changes
 * size while being read reads as what read(2) returned up to the size fstat gave. Bad arguments
 * throw TypeError/RangeError synchronously and read nothing.
 *
 * readFilesHashed([[path, prefix], …], limit) -> Promise<Array<[Buffer, string] | number | Error>>
 *
 * The same, and each file read is hashed too: [its bytes, the hex SHA-256 of prefix ‖ bytes]. A
 * commit reads and hashes every file of its tree (prefix: the content object's canonical header,
 * so the digest is the object's checksum); on the main thread that was most of a commit's time
 * (~1.2 s of the Debian minbase tree's 4 s), here it runs on the pool threads beside the walk.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "arbor_native.h"

/* Largest `limit`: what is read is held in memory until JS takes it. */
#define READ_LIMIT_MAX ((uint32_t)64 << 20)

typedef struct {
  char *path;
  uint8_t *data; /* malloc'd; handed to a JS Buffer (freed by its finalizer) */
  size_t len;
  uint64_t size; /* st_size */
  bool too_big;
  uint8_t *prefix; /* readFilesHashed: hash prefix ‖ data into digest */
  size_t prefix_len;
  char digest[65];
  int err;
  const char *syscall;
} read_item;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  uint32_t limit;
  bool hashed;
  size_t n;
  read_item *items;
} read_job;

static void read_job_free(read_job *j) {
  for (size_t i = 0; i < j->n; i++) {
    free(j->items[i].path);
    free(j->items[i].data);
    free(j->items[i].prefix);
  }
  free(j->items);
  free(j);
}

static void read_one(read_item *it, uint32_t limit) {
  int fd;
  /* O_NONBLOCK: a FIFO (swapped in for a file) must not block the pool thread: refused below */
  do fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    it->err = errno;
    it->syscall = "open";
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    it->err = errno;
    it->syscall = "fstat";
    goto out;
  }
  it->size = (uint64_t)st.st_size;
  if (!S_ISREG(st.st_mode)) {
    it->err = EINVAL;
    it->syscall = "read";
    goto out;
  }
  if (it->size > limit) {
    it->too_big = true;
    goto out;
  }
  it->data = malloc(it->size ? it->size : 1);
  if (!it->data) {
    it->err = ENOMEM;
    it->syscall = "read";
    goto out;
  }
  while (it->len < it->size) {
    ssize_t n = pread(fd, it->data + it->len, it->size - it->len, (off_t)it->len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      it->err = errno;
      it->syscall = "read";
      goto out;
    }
    if (n == 0) break; /* shrunk meanwhile: what was there */
    it->len += (size_t)n;
  }
out:
  close(fd);
}

/* Hash prefix ‖ data of a read item into its hex digest. */
static void hash_item(read_item *it) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
            EVP_DigestUpdate(ctx, it->prefix, it->prefix_len) == 1 &&
            EVP_DigestUpdate(ctx, it->data, it->len) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
            mdlen == 32;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    it->err = ENOMEM;
    it->syscall = "sha256";
    return;
  }
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    it->digest[2 * i] = hex[md[i] >> 4];
    it->digest[2 * i + 1] = hex[md[i] & 15];
  }
  it->digest[64] = 0;
}

static void read_execute(napi_env env, void *data) {
  read_job *j = data;
  for (size_t i = 0; i < j->n; i++) {
    read_one(&j->items[i], j->limit);
    if (j->hashed && !j->items[i].err && !j->items[i].too_big) hash_item(&j->items[i]);
  }
}

static void free_data(napi_env env, void *data, void *hint) { free(data); }

static void read_complete(napi_env env, napi_status status, void *data) {
  read_job *j = data;
  napi_value result = NULL;
  if (status == napi_ok && napi_create_array_with_length(env, j->n, &result) == napi_ok) {
    for (size_t i = 0; i < j->n && result; i++) {
      read_item *it = &j->items[i];
      napi_value v = NULL;
      if (it->err) v = errno_error(env, it->err, it->syscall, it->path, NULL);
      else if (it->too_big) napi_create_double(env, (double)it->size, &v);
      else if (napi_create_external_buffer(env, it->len, it->data, free_data, NULL, &v) == napi_ok) {
        it->data = NULL; /* the Buffer owns it now */
        napi_value pair, digest;
        if (j->hashed) {
          if (napi_create_array_with_length(env, 2, &pair) != napi_ok ||
              napi_create_string_latin1(env, it->digest, 64, &digest) != napi_ok ||
              napi_set_element(env, pair, 0, v) != napi_ok || napi_set_element(env, pair, 1, digest) != napi_ok)
            v = NULL;
          else v = pair;
        }
      } else v = NULL;
      if (!v || napi_set_element(env, result, (uint32_t)i, v) != napi_ok) result = NULL;
    }
  } else result = NULL;
  if (result) napi_resolve_deferred(env, j->deferred, result);
  else reject_pool_job(env, j->deferred, j->hashed ? "readFilesHashed" : "readFiles");
  napi_delete_async_work(env, j->work);
  read_job_free(j);
}

/* One item of readFilesHashed: [path, prefix]; throws and returns false on bad input. */
static bool parse_hashed_item(napi_env env, napi_value item, uint32_t i, read_item *it) {
  bool is_array = false;
  uint32_t len = 0;
  napi_value path, prefix;
  char msg[64];
  snprintf(msg, sizeof msg, "item %u must be [path, prefix]", i);
  if (napi_is_array(env, item, &is_array) != napi_ok || !is_array || napi_get_array_length(env, item, &len) != napi_ok ||
      len != 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  napi_get_element(env, item, 0, &path);
  napi_get_element(env, item, 1, &prefix);
  return get_cstr(env, path, "path", &it->path) && copy_bytes(env, prefix, "prefix", &it->prefix, &it->prefix_len);
}

static napi_value read_files(napi_env env, napi_callback_info info, bool hashed) {
  napi_value argv[2];
  uint32_t n = 0, limit = 0;
  const char *usage = hashed ? "readFilesHashed takes an array of [path, prefix] and a size limit"
                             : "readFiles takes an array of paths and a size limit";
  if (!get_array_args(env, info, 2, argv, usage, &n)) return NULL;
  if (!get_u32(env, argv[1], "limit", &limit)) return NULL;
  if (limit > READ_LIMIT_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "limit must be at most 64 MiB");
    return NULL;
  }
  read_job *j = calloc(1, sizeof *j);
  if (j) j->items = calloc(n ? n : 1, sizeof *j->items);
  if (!j || !j->items) {
    free(j);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  j->limit = limit;
  j->hashed = hashed;
  for (uint32_t i = 0; i < n; i++) {
    napi_value p;
    j->n = i + 1;
    char what[32];
    snprintf(what, sizeof what, "path %u", i);
    bool ok = napi_get_element(env, argv[0], i, &p) == napi_ok &&
              (hashed ? parse_hashed_item(env, p, i, &j->items[i]) : get_cstr(env, p, what, &j->items[i].path));
    if (!ok) {
      read_job_free(j);
      return NULL;
    }
  }
  napi_value promise = queue_pool_job(env, hashed ? "readFilesHashed" : "readFiles", read_execute, read_complete, j,
                                      &j->work, &j->deferred);
  if (!promise) read_job_free(j);
  return promise;
}

napi_value ReadFiles(napi_env env, napi_callback_info info) { return read_files(env, info, false); }

napi_value ReadFilesHashed(napi_env env, napi_callback_info info) { return read_files(env, info, true); }
