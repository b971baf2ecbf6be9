/*
 * writeObjectFile: create one bare-mode object file in a single trip to libuv's thread pool.
 *
 * A repository write (commit, pull, pull-local) creates thousands of small files, each needing
 * open, write, (fchown,) fchmod, xattrs, futimens and close. Through Node's fs that is two
 * thread-pool round trips (open, write) and four calls on the main thread per file; here it is
 * one round trip, and the main thread only copies the arguments.
 *
 *   writeObjectFile(path, data, mode, uid, gid, xattrs[, zeroTimes]) -> Promise<void>
 *     path    string or Uint8Array: the file to create, 0600 until `mode` is set; made unnamed
 *             (O_TMPFILE in its directory) and linked at `path` once complete, replacing a file
 *             left there; where O_TMPFILE is missing, created (or truncated) at `path`
 *     data    Uint8Array: written whole (held until the work is done: the caller must not change it)
 *     mode    fchmod'ed once the data is written (& 07777)
 *     uid/gid fchown'ed first (before fchmod, which chown would strip of setuid/setgid) unless -1
 *     xattrs  flat array [name, value, name, value, …] (string or Uint8Array names, Uint8Array
 *             values), each fsetxattr'ed
 *   then, unless zeroTimes is false (archive objects keep their write time, as ostree's), atime
 *   and mtime are set to 0 (as ostree stores bare objects), and the file is closed. A file of
 *   EARLY_WRITEBACK_MIN bytes or more has its writeback started as soon as its data is written
 *   (sync_file_range SYNC_FILE_RANGE_WRITE: starts the disk writes, waits for nothing, promises
 *   nothing): durability still comes from the caller's syncfs or fsync, which then finds most
 *   data already on its way to disk instead of starting it all at the end (measured: the syncfs
 *   closing a minbase update pull 55 -> 32 ms; a minbase commit to bare-user ~9% faster).
 *
 *   optional 8th argument `unpack`, [size, prefix, expected] (prefix and expected may be null;
 *     with it, `data` may also be an array of Uint8Array chunks, read in order as one stream: a
 *     pulled body as it came off the socket, not copied together first):
 *     `data` is a raw-deflate stream (a pulled or archive-mode object's body) that must inflate to
 *     exactly `size` bytes, and those bytes are what is written; with `prefix` and `expected`
 *     (32 bytes), SHA-256(prefix ‖ inflated data) must equal `expected` (a content object's
 *     checksum: prefix is its canonical header). Checked before the file is created: a body that
 *     fails creates nothing, and the promise rejects with an Error whose `code` is
 *     "ERR_ARBOR_INFLATE" (message: what is wrong) or "ERR_ARBOR_CHECKSUM" (`actual`: the hex
 *     digest found). Why here: inflating and hashing thousands of small objects cost a pull's
 *     main thread ~0.6 s; on the pool it runs beside the network work.
 *
 *   optional 9th argument `pack`, a Uint8Array `head` (unpack must then be undefined): the file
 *     holds `head ‖ raw-deflate(data)` (zlib level 6, window 15, memLevel 8: as Node's
 *     deflateRaw with level 6), an archive-mode object (head: its framed header). Why here:
 *     compressing a commit's files through Node's zlib streams costs a pool trip per 16 KiB and a
 *     main-thread callback each, and left the pool threads waiting on the main thread.
 *
 *   writeObjectFiles([[path, data, mode, uid, gid, xattrs, zeroTimes?, unpack?, pack?], …]) -> Promise<Array<undefined | Error>>
 *     the same for many files in one trip (see WriteObjectFiles below)
 *
 * Rejects with a Node-style system error (`code`, `errno`, `syscall`, `path`) naming the first
 * call that failed; the file is closed on every path and may be left partly written (callers
 * write into staging directories that are discarded on failure). Bad arguments throw
 * TypeError/RangeError synchronously.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "arbor_native.h"

/* Largest `size` an unpacked item may declare: it is inflated into memory (callers stream
 * anything bigger). */
#define UNPACK_MAX ((size_t)64 << 20)

/* Files at least this big get their writeback started early (see the top of this file); smaller
 * ones are left to the final syncfs, which writes them out together. */
#define EARLY_WRITEBACK_MIN ((size_t)16 << 10)

/* One file to write: the arguments of one writeObjectFile call, and how its write ended. */
typedef struct {
  napi_ref data_ref; /* keeps `data` alive while the pool thread writes it */
  char *path;
  const uint8_t *data;
  size_t len;
  /* with unpack, `data` may be an array of chunks (a body as it came off the socket): then
   * parts[0..nparts) and len their total; data is NULL */
  size_t nparts;
  struct data_part {
    const uint8_t *p;
    size_t len;
  } *parts;
  uint32_t mode;
  int64_t uid, gid;
  uint32_t nx;
  char **xnames;
  uint8_t **xvalues;
  size_t *xlens;
  bool zero_times;
  /* unpack: inflate `data` to `size` bytes (and check its digest) before writing */
  bool unpack;
  size_t size;
  uint8_t *prefix; /* NULL: no digest check */
  size_t prefix_len;
  uint8_t expected[32];
  /* pack: write head ‖ raw-deflate(data) */
  bool pack;
  uint8_t *head;
  size_t head_len;
  int err;
  const char *syscall;
  /* set when the body is refused: "ERR_ARBOR_INFLATE" or "ERR_ARBOR_CHECKSUM" */
  const char *corrupt_code;
  char corrupt_msg[160];
} write_item;

/* One trip to the thread pool: one item (writeObjectFile) or several (writeObjectFiles). */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  bool batch; /* settle with an array of per-item results instead of undefined / the error */
  size_t n;
  write_item *items;
} write_job;

static void item_free(napi_env env, write_item *it) {
  if (it->data_ref) napi_delete_reference(env, it->data_ref);
  for (uint32_t i = 0; i < it->nx; i++) {
    if (it->xnames) free(it->xnames[i]);
    if (it->xvalues) free(it->xvalues[i]);
  }
  free(it->xnames);
  free(it->xvalues);
  free(it->xlens);
  free(it->path);
  free(it->prefix);
  free(it->head);
  free(it->parts);
}

static void job_free(napi_env env, write_job *j) {
  for (size_t i = 0; i < j->n; i++) item_free(env, &j->items[i]);
  free(j->items);
  free(j);
}

/* An unnamed file (O_TMPFILE) in the directory of `path`; -1 with errno when it cannot be made. */
static int open_tmpfile_beside(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[PATH_MAX];
  if (!slash) strcpy(dir, ".");
  else if (slash == path) strcpy(dir, "/");
  else {
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir) {
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(dir, path, n);
    dir[n] = 0;
  }
  int fd;
  do fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  while (fd < 0 && errno == EINTR);
  return fd;
}

/* Give the O_TMPFILE `fd` its name `path` (replacing a file left there, as O_TRUNC would). */
static int link_tmpfile(int fd, const char *path) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  for (int attempt = 0; attempt < 2; attempt++) {
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) return 0;
    if (errno == ENOENT && linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0) return 0; /* no /proc */
    if (errno != EEXIST || attempt > 0 || unlink(path) != 0) return -1;
  }
  return -1;
}

/* Refuse an unpacked item's body: code and message for its error. */
static void corrupt(write_item *it, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void corrupt(write_item *it, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(it->corrupt_msg, sizeof it->corrupt_msg, fmt, ap);
  va_end(ap);
  it->corrupt_code = code;
}

/*
 * Inflate an item's raw-deflate `data` into a new buffer of exactly `size` bytes and check its
 * digest (pool thread). Returns the buffer (free it), or NULL with it->corrupt_code or it->err set.
 * Bytes after the end of the deflate stream are ignored (as zlib's own readers do); a stream that
 * would give more than `size` bytes, fewer, or that is cut short or invalid is refused.
 */
static uint8_t *item_unpack(write_item *it) {
  uint8_t *out = malloc(it->size ? it->size : 1);
  if (!out) {
    it->err = ENOMEM;
    it->syscall = "malloc";
    return NULL;
  }
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, -15) != Z_OK) {
    free(out);
    it->err = ENOMEM;
    it->syscall = "inflateInit2";
    return NULL;
  }
  /* the input: `data` whole, or its chunks one after the other */
  struct data_part whole = {it->data, it->len};
  const struct data_part *parts = it->parts ? it->parts : &whole;
  size_t nparts = it->parts ? it->nparts : 1, part = 0;
  const uint8_t *in_at = parts[0].p;
  size_t in_left = parts[0].len, out_left = it->size;
  zs.next_in = (Bytef *)in_at;
  zs.avail_in = 0;
  zs.next_out = out;
  zs.avail_out = 0;
  int ret = Z_OK;
  uint8_t extra;
  /* zlib counts in uInt: feed both sides in pieces of at most 1 GiB */
  for (;;) {
    while (zs.avail_in == 0 && in_left == 0 && part + 1 < nparts) {
      part++;
      in_at = parts[part].p;
      in_left = parts[part].len;
    }
    if (zs.avail_in == 0 && in_left) {
      zs.next_in = (Bytef *)in_at;
      zs.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
      in_at += zs.avail_in;
      in_left -= zs.avail_in;
    }
    if (zs.avail_out == 0 && out_left) {
      zs.avail_out = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
      out_left -= zs.avail_out;
    }
    if (zs.avail_out == 0) {
      /* all `size` bytes are in: one byte more means the body holds more than declared */
      zs.next_out = &extra;
      zs.avail_out = 1;
    }
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret != Z_OK || zs.total_out > it->size) break;
    if (zs.avail_in == 0 && in_left == 0 && part + 1 >= nparts && zs.avail_out != 0)
      break; /* input used up, stream not ended */
  }
  bool over = zs.total_out > it->size;
  size_t got = (size_t)zs.total_out;
  const char *zmsg = zs.msg;
  inflateEnd(&zs);
  if (over) corrupt(it, "ERR_ARBOR_INFLATE", "data is larger than the %zu bytes the header says", it->size);
  else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT)
    corrupt(it, "ERR_ARBOR_INFLATE", "cannot decompress: %s", zmsg ? zmsg : "invalid deflate data");
  else if (ret == Z_MEM_ERROR) {
    it->err = ENOMEM;
    it->syscall = "inflate";
  } else if (ret != Z_STREAM_END)
    corrupt(it, "ERR_ARBOR_INFLATE", "cannot decompress: unexpected end of file");
  else if (got != it->size) corrupt(it, "ERR_ARBOR_INFLATE", "data is %zu bytes, header says %zu", got, it->size);
  if (it->corrupt_code || it->err) {
    free(out);
    return NULL;
  }
  if (it->prefix) {
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, it->prefix, it->prefix_len) == 1 &&
              EVP_DigestUpdate(ctx, out, it->size) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
              mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
      free(out);
      it->err = ENOMEM;
      it->syscall = "sha256";
      return NULL;
    }
    if (memcmp(md, it->expected, 32) != 0) {
      static const char hex[] = "0123456789abcdef";
      for (int i = 0; i < 32; i++) {
        it->corrupt_msg[2 * i] = hex[md[i] >> 4];
        it->corrupt_msg[2 * i + 1] = hex[md[i] & 15];
      }
      it->corrupt_msg[64] = 0;
      it->corrupt_code = "ERR_ARBOR_CHECKSUM";
      free(out);
      return NULL;
    }
  }
  return out;
}

/* Write one item (pool thread: no JS here); the outcome goes into it->err and it->syscall. */
/* head ‖ raw-deflate(data) in a new buffer (its length in *out_len); NULL with it->err set. */
static uint8_t *item_pack(write_item *it, size_t *out_len) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    it->err = ENOMEM;
    it->syscall = "deflateInit2";
    return NULL;
  }
  size_t bound = deflateBound(&zs, (uLong)it->len);
  uint8_t *out = malloc(it->head_len + bound);
  if (!out) {
    deflateEnd(&zs);
    it->err = ENOMEM;
    it->syscall = "deflate";
    return NULL;
  }
  memcpy(out, it->head, it->head_len);
  zs.next_in = (Bytef *)it->data;
  zs.avail_in = (uInt)it->len;
  zs.next_out = out + it->head_len;
  zs.avail_out = (uInt)bound;
  int ret = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (ret != Z_STREAM_END) { /* deflateBound is a bound: not reached */
    free(out);
    it->err = EIO;
    it->syscall = "deflate";
    return NULL;
  }
  *out_len = it->head_len + produced;
  return out;
}

static void item_write(write_item *it) {
  const uint8_t *data = it->data;
  size_t len = it->len;
  uint8_t *unpacked = NULL;
  if (it->unpack) {
    unpacked = item_unpack(it);
    if (!unpacked) return;
    data = unpacked;
    len = it->size;
  } else if (it->pack) {
    unpacked = item_pack(it, &len);
    if (!unpacked) return;
    data = unpacked;
  }
  /* Created unnamed and linked in once complete (as ostree does): the directory's lock is held
   * for the link only, not while ext4 allocates the inode, so parallel writes into one staging
   * directory do not queue behind each other; and a name never shows a partial file. */
  bool unnamed = true;
  int fd = open_tmpfile_beside(it->path);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    unnamed = false; /* no O_TMPFILE here (old kernel, filesystem without it) */
    do fd = open(it->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    while (fd < 0 && errno == EINTR);
  }
  if (fd < 0) {
    it->err = errno;
    it->syscall = "open";
    free(unpacked);
    return;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      it->err = n < 0 ? errno : EIO;
      it->syscall = "write";
      goto out;
    }
    off += (size_t)n;
  }
  if (len >= EARLY_WRITEBACK_MIN) (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  if (it->uid >= 0 && fchown(fd, (uid_t)it->uid, (gid_t)it->gid) != 0) {
    it->err = errno;
    it->syscall = "fchown";
    goto out;
  }
  if (fchmod(fd, (mode_t)(it->mode & 07777)) != 0) {
    it->err = errno;
    it->syscall = "fchmod";
    goto out;
  }
  for (uint32_t i = 0; i < it->nx; i++) {
    if (fsetxattr(fd, it->xnames[i], it->xvalues[i], it->xlens[i], 0) != 0) {
      it->err = errno;
      it->syscall = "fsetxattr";
      goto out;
    }
  }
  const struct timespec zero[2] = {{0, 0}, {0, 0}};
  if (it->zero_times && futimens(fd, zero) != 0) {
    it->err = errno;
    it->syscall = "futime";
    goto out;
  }
  if (unnamed && link_tmpfile(fd, it->path) != 0) {
    it->err = errno;
    it->syscall = "linkat";
    goto out;
  }
out:
  free(unpacked);
  if (close(fd) != 0 && it->err == 0 && errno != EINTR) {
    it->err = errno;
    it->syscall = "close";
  }
}

/* Pool thread: the job's items in order (one failing does not stop the others). */
static void job_execute(napi_env env, void *data) {
  write_job *j = data;
  for (size_t i = 0; i < j->n; i++) item_write(&j->items[i]);
}

static bool item_failed(const write_item *it) { return it->err != 0 || it->corrupt_code != NULL; }

/* The error for a failed item; NULL when none could be made (out of memory). */
static napi_value item_error(napi_env env, const write_item *it) {
  if (!it->corrupt_code) return errno_error(env, it->err, it->syscall, it->path, NULL);
  napi_value code, msg, error;
  bool checksum = strcmp(it->corrupt_code, "ERR_ARBOR_CHECKSUM") == 0;
  const char *text = checksum ? "checksum mismatch" : it->corrupt_msg;
  if (napi_create_string_utf8(env, it->corrupt_code, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok)
    return NULL;
  if (checksum) {
    napi_value actual;
    if (napi_create_string_utf8(env, it->corrupt_msg, 64, &actual) != napi_ok ||
        napi_set_named_property(env, error, "actual", actual) != napi_ok)
      return NULL;
  }
  return error;
}

/* Main thread: settle the promise. */
static void job_complete(napi_env env, napi_status status, void *data) {
  write_job *j = data;
  napi_value result = NULL, error = NULL, undef;
  napi_get_undefined(env, &undef);
  if (status == napi_ok && j->batch) {
    /* [undefined | Error, …], one per item */
    if (napi_create_array_with_length(env, j->n, &result) == napi_ok) {
      for (size_t i = 0; i < j->n && result; i++) {
        napi_value v = undef;
        if (item_failed(&j->items[i]) && !(v = item_error(env, &j->items[i]))) result = NULL;
        else napi_set_element(env, result, (uint32_t)i, v);
      }
    }
  } else if (status == napi_ok) {
    if (!item_failed(&j->items[0])) result = undef;
    else error = item_error(env, &j->items[0]);
  }
  if (result) napi_resolve_deferred(env, j->deferred, result);
  else if (error) napi_reject_deferred(env, j->deferred, error);
  else reject_pool_job(env, j->deferred, j->batch ? "writeObjectFiles" : "writeObjectFile");
  napi_delete_async_work(env, j->work);
  job_free(env, j);
}

static bool get_i64_or_none(napi_env env, napi_value v, const char *what, int64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  double d = 0;
  if (t == napi_number) napi_get_value_double(env, v, &d);
  if (t != napi_number || !(d == -1 || (d >= 0 && d <= UINT32_MAX - 1 && d == (double)(uint32_t)d))) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be -1 or a 32-bit id", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

/* Copy the flat [name, value, …] xattr array into the job. */
static bool copy_xattrs(napi_env env, napi_value arr, write_item *j) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "xattrs must be an array");
    return false;
  }
  napi_get_array_length(env, arr, &n);
  if (n % 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "xattrs must hold name, value pairs");
    return false;
  }
  j->nx = n / 2;
  if (j->nx == 0) return true;
  j->xnames = calloc(j->nx, sizeof *j->xnames);
  j->xvalues = calloc(j->nx, sizeof *j->xvalues);
  j->xlens = calloc(j->nx, sizeof *j->xlens);
  if (!j->xnames || !j->xvalues || !j->xlens) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return false;
  }
  for (uint32_t i = 0; i < j->nx; i++) {
    napi_value name, value;
    napi_get_element(env, arr, 2 * i, &name);
    napi_get_element(env, arr, 2 * i + 1, &value);
    if (!get_cstr(env, name, "xattr name", &j->xnames[i]) ||
        !copy_bytes(env, value, "xattr value", &j->xvalues[i], &j->xlens[i]))
      return false;
  }
  return true;
}

/* The optional `unpack` argument: undefined, or [size, prefix | null, expected | null]. */
static bool parse_unpack(napi_env env, napi_value v, write_item *j) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return true;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &n) != napi_ok ||
      n != 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "unpack must be [size, prefix, expected]");
    return false;
  }
  napi_value size, prefix, expected;
  napi_get_element(env, v, 0, &size);
  napi_get_element(env, v, 1, &prefix);
  napi_get_element(env, v, 2, &expected);
  double d = -1;
  napi_typeof(env, size, &t);
  if (t == napi_number) napi_get_value_double(env, size, &d);
  if (!(d >= 0 && d <= (double)UNPACK_MAX && d == (double)(size_t)d)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "unpack size must be an integer from 0 to 64 MiB");
    return false;
  }
  j->unpack = true;
  j->size = (size_t)d;
  napi_valuetype tp, te;
  napi_typeof(env, prefix, &tp);
  napi_typeof(env, expected, &te);
  if ((tp == napi_null) != (te == napi_null)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "unpack prefix and expected go together");
    return false;
  }
  if (tp == napi_null) return true;
  const void *eb = NULL;
  size_t elen = 0;
  if (!get_bytes(env, expected, "unpack expected", &eb, &elen)) return false;
  if (elen != 32) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "unpack expected must be a 32-byte SHA-256 digest");
    return false;
  }
  memcpy(j->expected, eb, 32);
  return copy_bytes(env, prefix, "unpack prefix", &j->prefix, &j->prefix_len);
}

/* The optional `pack` argument: undefined, or the head (Uint8Array) to write before the deflated data. */
static bool parse_pack(napi_env env, napi_value v, write_item *j) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return true;
  if (j->unpack) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "pack and unpack do not go together");
    return false;
  }
  if (j->len > UNPACK_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "packed data must be at most 64 MiB");
    return false;
  }
  j->pack = true;
  return copy_bytes(env, v, "pack head", &j->head, &j->head_len);
}

/* `data` given as an array of Uint8Array chunks: borrow each one's bytes (the reference taken on
 * the array keeps them alive; the caller does not change it). */
static bool get_parts(napi_env env, napi_value arr, write_item *j) {
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  j->parts = calloc(n ? n : 1, sizeof *j->parts);
  if (!j->parts) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return false;
  }
  j->nparts = n ? n : 1; /* no chunk: one empty part */
  j->parts[0].p = (const uint8_t *)"";
  j->len = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    const void *p = NULL;
    size_t len = 0;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !get_bytes(env, v, "each chunk of data", &p, &len)) return false;
    j->parts[i].p = len ? p : (const uint8_t *)"";
    j->parts[i].len = len;
    j->len += len;
  }
  return true;
}

/* Read one item's arguments (argv[0..argc-1], as writeObjectFile takes them); throws and returns
 * false on bad input (what was copied is freed by item_free). */
static bool parse_item(napi_env env, size_t argc, napi_value *argv, write_item *j) {
  if (argc < 6) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return false;
  }
  const void *bytes = NULL;
  bool chunked = false;
  if (napi_is_array(env, argv[1], &chunked) != napi_ok) return false;
  if (!get_cstr(env, argv[0], "path", &j->path) ||
      !(chunked ? get_parts(env, argv[1], j) : get_bytes(env, argv[1], "data", &bytes, &j->len)) ||
      !get_u32(env, argv[2], "mode", &j->mode) || !get_i64_or_none(env, argv[3], "uid", &j->uid) ||
      !get_i64_or_none(env, argv[4], "gid", &j->gid) || !copy_xattrs(env, argv[5], j))
    return false;
  j->data = bytes;
  j->zero_times = true;
  if (argc > 6) {
    napi_valuetype t;
    napi_typeof(env, argv[6], &t);
    if (t == napi_boolean) napi_get_value_bool(env, argv[6], &j->zero_times);
    else if (t != napi_undefined) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "zeroTimes must be a boolean");
      return false;
    }
  }
  if (argc > 7 && !parse_unpack(env, argv[7], j)) return false;
  if (argc > 8 && !parse_pack(env, argv[8], j)) return false;
  if (chunked && !j->unpack) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "data may be an array of chunks only with unpack");
    return false;
  }
  if (napi_create_reference(env, argv[1], 1, &j->data_ref) != napi_ok) {
    napi_throw_error(env, NULL, "writeObjectFile: cannot hold the data");
    return false;
  }
  return true;
}

/* Queue job `j` (its items parsed) and return its promise; NULL (thrown, `j` freed) on failure. */
static napi_value queue_job(napi_env env, write_job *j) {
  napi_value promise = queue_pool_job(env, j->batch ? "writeObjectFiles" : "writeObjectFile", job_execute,
                                      job_complete, j, &j->work, &j->deferred);
  if (!promise) job_free(env, j);
  return promise;
}

static write_job *job_new(napi_env env, size_t n, bool batch) {
  write_job *j = calloc(1, sizeof *j);
  if (j) j->items = calloc(n ? n : 1, sizeof *j->items);
  if (!j || !j->items) {
    free(j);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  j->batch = batch;
  return j;
}

napi_value WriteObjectFile(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  size_t argc = 9;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  write_job *j = job_new(env, 1, false);
  if (!j) return NULL;
  j->n = 1;
  if (!parse_item(env, argc, argv, &j->items[0])) {
    job_free(env, j);
    return NULL;
  }
  return queue_job(env, j);
}

/*
 * writeObjectFiles([[path, data, mode, uid, gid, xattrs, zeroTimes?, unpack?, pack?], …]) -> Promise<Array<undefined | Error>>
 * The same writes as that many writeObjectFile calls, made one after the other in a single trip
 * to the thread pool: one thread wake-up and one completion for the lot instead of one per file
 * (on a 2-core VM, waking a pool thread per object cost the main thread ~0.1 ms each). Each
 * item's outcome is in the resolved array, in order; one failing does not stop the rest. Bad
 * arguments in any item throw (naming the item) and write nothing.
 */
napi_value WriteObjectFiles(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool is_array = false;
  uint32_t n = 0;
  if (!get_array_args(env, info, 1, argv, "writeObjectFiles takes an array of items", &n)) return NULL;
  write_job *j = job_new(env, n, true);
  if (!j) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item, args[9];
    uint32_t len = 0;
    bool ok = napi_get_element(env, argv[0], i, &item) == napi_ok &&
              napi_is_array(env, item, &is_array) == napi_ok && is_array;
    if (ok) napi_get_array_length(env, item, &len);
    if (!ok || len < 6 || len > 9) {
      char msg[112];
      snprintf(msg, sizeof msg, "item %u must be [path, data, mode, uid, gid, xattrs, zeroTimes?, unpack?, pack?]", i);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
      job_free(env, j);
      return NULL;
    }
    for (uint32_t k = 0; k < len; k++) napi_get_element(env, item, k, &args[k]);
    j->n = i + 1;
    if (!parse_item(env, len, args, &j->items[i])) {
      job_free(env, j);
      return NULL;
    }
  }
  return queue_job(env, j);
}
