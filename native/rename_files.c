/*
 * renameFiles([[from, to], …]) -> Promise<Array<undefined | Error>>
 *
 * Many rename(2) calls, one after the other, in a single trip to libuv's thread pool. A
 * transaction publishes each staged object with a rename (thousands per commit or pull); through
 * Node's fs.rename each costs the main thread a request and a thread wake-up (~20 µs on the
 * reference machine, where the woken pool thread often takes the CPU from the main thread), while
 * the kernel work itself serialises on the staging directory's lock anyway.
 *
 * Each item's outcome is in the resolved array, in order: undefined, or a Node-style system error
 * (`code`, `errno`, `syscall` "rename", `path`, `dest`); one failing does not stop the others. Bad
 * arguments in any item throw TypeError synchronously, naming the item, and rename nothing.
 *
 * fsyncPaths([path, …]) -> Promise<Array<undefined | Error>>
 *
 * open(2) (read-only), fsync(2) and close(2) of each path, in one trip: after publishing, a
 * transaction makes the directories that gained names durable (up to 256 objects/XX), which
 * through Node's fs cost three requests each. Outcomes as renameFiles's (`syscall` "open" or
 * "fsync", `path`).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "arbor_native.h"

typedef struct {
  char *from, *to; /* fsyncPaths: the path in `from`, `to` NULL */
  int err;
  const char *syscall;
} rename_item;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  size_t n;
  rename_item *items;
  bool fsync; /* fsyncPaths rather than renameFiles */
} rename_job;

static void rename_job_free(rename_job *j) {
  for (size_t i = 0; i < j->n; i++) {
    free(j->items[i].from);
    free(j->items[i].to);
  }
  free(j->items);
  free(j);
}

/* A job for n items; NULL (thrown) when out of memory. */
static rename_job *rename_job_new(napi_env env, uint32_t n) {
  rename_job *j = calloc(1, sizeof *j);
  if (j) j->items = calloc(n ? n : 1, sizeof *j->items);
  if (!j || !j->items) {
    free(j);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  return j;
}

/* Pool thread: every rename (or fsync), in order. */
static void rename_execute(napi_env env, void *data) {
  rename_job *j = data;
  for (size_t i = 0; i < j->n; i++) {
    rename_item *it = &j->items[i];
    if (!j->fsync) {
      it->err = rename(it->from, it->to) == 0 ? 0 : errno;
      it->syscall = "rename";
      continue;
    }
    int fd;
    do fd = open(it->from, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      it->err = errno;
      it->syscall = "open";
      continue;
    }
    it->err = fsync(fd) == 0 ? 0 : errno;
    it->syscall = "fsync";
    close(fd);
  }
}

/* Main thread: settle with the per-item outcomes. */
static void rename_complete(napi_env env, napi_status status, void *data) {
  rename_job *j = data;
  napi_value result = NULL, undef;
  napi_get_undefined(env, &undef);
  if (status == napi_ok && napi_create_array_with_length(env, j->n, &result) == napi_ok) {
    for (size_t i = 0; i < j->n && result; i++) {
      napi_value v = undef;
      const rename_item *it = &j->items[i];
      if (it->err != 0 && !(v = errno_error(env, it->err, it->syscall, it->from, it->to))) result = NULL;
      else napi_set_element(env, result, (uint32_t)i, v);
    }
  } else result = NULL;
  if (result) napi_resolve_deferred(env, j->deferred, result);
  else reject_pool_job(env, j->deferred, j->fsync ? "fsyncPaths" : "renameFiles");
  napi_delete_async_work(env, j->work);
  rename_job_free(j);
}

napi_value RenameFiles(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool is_array = false;
  uint32_t n = 0;
  if (!get_array_args(env, info, 1, argv, "renameFiles takes an array of [from, to] pairs", &n)) return NULL;
  rename_job *j = rename_job_new(env, n);
  if (!j) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item, from, to;
    uint32_t len = 0;
    bool ok = napi_get_element(env, argv[0], i, &item) == napi_ok &&
              napi_is_array(env, item, &is_array) == napi_ok && is_array &&
              napi_get_array_length(env, item, &len) == napi_ok && len == 2;
    if (!ok) {
      char msg[64];
      snprintf(msg, sizeof msg, "item %u must be [from, to]", i);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
      rename_job_free(j);
      return NULL;
    }
    napi_get_element(env, item, 0, &from);
    napi_get_element(env, item, 1, &to);
    j->n = i + 1;
    if (!get_cstr(env, from, "from", &j->items[i].from) || !get_cstr(env, to, "to", &j->items[i].to)) {
      rename_job_free(j);
      return NULL;
    }
  }
  napi_value promise = queue_pool_job(env, "renameFiles", rename_execute, rename_complete, j, &j->work, &j->deferred);
  if (!promise) rename_job_free(j);
  return promise;
}

napi_value FsyncPaths(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t n = 0;
  if (!get_array_args(env, info, 1, argv, "fsyncPaths takes an array of paths", &n)) return NULL;
  rename_job *j = rename_job_new(env, n);
  if (!j) return NULL;
  j->fsync = true;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    char what[32];
    snprintf(what, sizeof what, "paths[%u]", i);
    j->n = i + 1;
    if (napi_get_element(env, argv[0], i, &item) != napi_ok || !get_cstr(env, item, what, &j->items[i].from)) {
      rename_job_free(j);
      return NULL;
    }
  }
  napi_value promise = queue_pool_job(env, "fsyncPaths", rename_execute, rename_complete, j, &j->work, &j->deferred);
  if (!promise) rename_job_free(j);
  return promise;
}
