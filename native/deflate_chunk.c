/*
 * deflateChunk(data, dict, last) -> Promise<Buffer>
 *
 * Compress one chunk of a large archive object's data on libuv's thread pool (zlib level 6, raw,
 * window 15, memLevel 8), so that the chunks of one big file are compressed on several threads
 * at once, as pigz does. Each chunk is compressed on its own, primed with `dict` (the 32 KiB of
 * data before it, or null for the first chunk) so that matches reach back into the previous
 * chunk; a chunk that is not the last ends with a sync flush (an empty stored block: the stream
 * stays open and byte-aligned), the last one finishes the stream. Written one after the other,
 * the outputs make one valid raw-deflate stream of the whole data (a few bytes longer than a
 * single-stream compression: 5 bytes per sync flush).
 *
 * Why: a commit's files are compressed one per pool thread; a single large file (the Debian
 * minbase tree has a 50 MB apt list) was compressed by one zlib stream on one thread, alone at
 * the end of the commit for a second.
 *
 * `data` and `dict` are copied (a chunk over 16 MiB or a dictionary over 32 KiB is refused after
 * the copy: callers send 1 MiB); bad arguments throw TypeError/RangeError synchronously.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "arbor_native.h"

/* Largest chunk (and dictionary) accepted. */
#define CHUNK_MAX ((size_t)16 << 20)
#define DICT_MAX ((size_t)32 << 10)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  uint8_t *data, *dict;
  size_t len, dict_len;
  bool last;
  uint8_t *out;
  size_t out_len;
  int zerr; /* zlib error code, or 0 */
} chunk_job;

static void chunk_free(chunk_job *j) {
  free(j->data);
  free(j->dict);
  free(j->out);
  free(j);
}

static void chunk_execute(napi_env env, void *data) {
  chunk_job *j = data;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if ((j->zerr = deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)) != Z_OK) return;
  if (j->dict_len && (j->zerr = deflateSetDictionary(&zs, j->dict, (uInt)j->dict_len)) != Z_OK) {
    deflateEnd(&zs);
    return;
  }
  /* the bound, and room for the sync flush's empty stored block */
  size_t cap = deflateBound(&zs, (uLong)j->len) + 16;
  j->out = malloc(cap);
  if (!j->out) {
    j->zerr = Z_MEM_ERROR;
    deflateEnd(&zs);
    return;
  }
  zs.next_in = j->data;
  zs.avail_in = (uInt)j->len;
  zs.next_out = j->out;
  zs.avail_out = (uInt)cap;
  int ret = deflate(&zs, j->last ? Z_FINISH : Z_SYNC_FLUSH);
  bool done = j->last ? ret == Z_STREAM_END : ret == Z_OK && zs.avail_in == 0 && zs.avail_out > 0;
  j->out_len = zs.total_out;
  deflateEnd(&zs);
  j->zerr = done ? 0 : (ret < 0 ? ret : Z_BUF_ERROR);
}

static void free_out(napi_env env, void *data, void *hint) { free(data); }

static void chunk_complete(napi_env env, napi_status status, void *data) {
  chunk_job *j = data;
  napi_value result = NULL;
  if (status != napi_ok || j->zerr != 0 ||
      napi_create_external_buffer(env, j->out_len, j->out, free_out, NULL, &result) != napi_ok)
    result = NULL;
  if (result) {
    j->out = NULL; /* the Buffer owns it now */
    napi_resolve_deferred(env, j->deferred, result);
  } else if (status == napi_ok && j->zerr != 0) {
    napi_value msg, err;
    napi_create_string_utf8(env, "deflateChunk: zlib could not compress the chunk", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, j->deferred, err);
  } else reject_pool_job(env, j->deferred, "deflateChunk");
  napi_delete_async_work(env, j->work);
  chunk_free(j);
}

napi_value DeflateChunk(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  napi_valuetype dict_type, last_type;
  napi_typeof(env, argv[1], &dict_type);
  napi_typeof(env, argv[2], &last_type);
  chunk_job *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  bool ok = copy_bytes(env, argv[0], "data", &j->data, &j->len) &&
            (dict_type == napi_null || copy_bytes(env, argv[1], "dict", &j->dict, &j->dict_len));
  if (ok && last_type != napi_boolean) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "last must be a boolean");
    ok = false;
  }
  if (ok && (j->len > CHUNK_MAX || j->dict_len > DICT_MAX)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "a chunk is at most 16 MiB and its dictionary 32 KiB");
    ok = false;
  }
  if (ok) napi_get_value_bool(env, argv[2], &j->last);
  napi_value promise =
      ok ? queue_pool_job(env, "deflateChunk", chunk_execute, chunk_complete, j, &j->work, &j->deferred) : NULL;
  if (!promise) chunk_free(j);
  return promise;
}
