/*
 * Helpers shared by the addon's source files (defined in arbor_native.c). Each throws a JS
 * TypeError/RangeError and returns false on bad input.
 */
#ifndef ARBOR_NATIVE_H
#define ARBOR_NATIVE_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* A NUL-terminated copy of a string or Uint8Array argument (no NUL bytes inside); free *out. */
bool get_cstr(napi_env env, napi_value v, const char *what, char **out);
bool get_u32(napi_env env, napi_value v, const char *what, uint32_t *out);
/* Borrow the bytes of a Uint8Array argument. */
bool get_bytes(napi_env env, napi_value v, const char *what, const void **data, size_t *len);
/* A malloc'd copy of a Uint8Array argument's bytes (never NULL on success, even when empty); free *out. */
bool copy_bytes(napi_env env, napi_value v, const char *what, uint8_t **out, size_t *len);
/* A 64-digit lower-case hex string argument as 32 bytes; false (nothing thrown) if it is not one. */
bool get_hex_checksum(napi_env env, napi_value v, uint8_t out[32]);
/* A Node-style system error object for errno `err` (see arbor_native.c); NULL when out of memory. */
napi_value errno_error(napi_env env, int err, const char *syscall_name, const char *path, const char *dest);

/* Create a promise and queue `execute` then `complete` with `data` on libuv's thread pool, filling
 * *work and *deferred; NULL (an error thrown naming `what`) when that fails: the caller frees
 * `data` then. The pool thread that runs `execute` is put in SCHED_BATCH first (arbor_native.c). */
napi_value queue_pool_job(napi_env env, const char *what, napi_async_execute_callback execute,
                          napi_async_complete_callback complete, void *data, napi_async_work *work,
                          napi_deferred *deferred);
/* Read up to `want` arguments into argv (missing ones undefined) and the length of argv[0], which
 * must be an array; else throw TypeError `usage` and return false. */
bool get_array_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage,
                    uint32_t *length);
/* Reject `deferred` with the pending JS exception or, if none, an Error saying `what` did not run. */
void reject_pool_job(napi_env env, napi_deferred deferred, const char *what);

/* checkout_files.c */
napi_value CheckoutFiles(napi_env env, napi_callback_info info);
napi_value CheckoutDirs(napi_env env, napi_callback_info info);

/* checkout_tree.c */
napi_value CheckoutTree(napi_env env, napi_callback_info info);
napi_value CheckoutTreeFinish(napi_env env, napi_callback_info info);

/* write_file.c */
napi_value WriteObjectFile(napi_env env, napi_callback_info info);
napi_value WriteObjectFiles(napi_env env, napi_callback_info info);

/* read_files.c */
napi_value ReadFiles(napi_env env, napi_callback_info info);
napi_value ReadFilesHashed(napi_env env, napi_callback_info info);

/* rename_files.c */
napi_value RenameFiles(napi_env env, napi_callback_info info);
napi_value FsyncPaths(napi_env env, napi_callback_info info);

/* deflate_chunk.c */
napi_value DeflateChunk(napi_env env, napi_callback_info info);

/* walk_trees.c */
napi_value WalkTrees(napi_env env, napi_callback_info info);

/* scan_dir.c */
napi_value ScanDir(napi_env env, napi_callback_info info);

#endif
