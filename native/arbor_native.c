/*
 * arbor_native: the handful of Linux system calls that Node's fs module does not expose and that an
 * OSTree-compatible tool cannot do without.
 *
 *   - OFD record locks (fcntl F_OFD_SETLK / F_OFD_SETLKW). The real ostree locks its repository
 *     (`.lock`) and sysroot (`ostree/lock`) with whole-file OFD locks; flock(2) locks do NOT conflict
 *     with them, so interoperating with a concurrently running ostree needs fcntl.
 *   - extended attributes that never follow symlinks (l*xattr) plus the fd variants (f*xattr);
 *     bare repos store ownership/SELinux labels there, bare-user repos store `user.ostreemeta`.
 *   - inode flags (FS_IOC_GETFLAGS / FS_IOC_SETFLAGS): deployment roots are made immutable
 *     (`chattr +i`) and must be made mutable again before they can be deleted.
 *   - syncfs(2), and renameat2(2) with RENAME_NOREPLACE / RENAME_EXCHANGE.
 *   - FIFREEZE/FITHAW of /boot during the boot switch (with a watchdog that thaws if we die).
 *   - SCHED_BATCH for the libuv pool threads that run its jobs (`pool_thread_enter`, below).
 *
 * Every function is synchronous and throws errors shaped like Node's own system errors:
 * `code` = errno name ("ENOENT"), `errno` = the negated errno value (as Node's fs does on Linux),
 * `syscall`, and `path` / `dest` where a path was involved. Argument errors are TypeErrors with
 * Node-style `ERR_*` codes. Paths and attribute names may be strings or Uint8Arrays; embedded NUL
 * bytes are rejected (otherwise "a\0b" would silently act on "a").
 */
#define NAPI_VERSION 8
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/fs.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "arbor_native.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef F_OFD_SETLK
#define F_OFD_SETLK 37
#endif
#ifndef F_OFD_SETLKW
#define F_OFD_SETLKW 38
#endif
#ifndef ENODATA
#define ENODATA ENOATTR
#endif

/* How often to retry the size-query/read dance when an attribute keeps growing under us. */
#define XATTR_MAX_ATTEMPTS 16

/* ------------------------------------------------------------------------------------------------ */
/* Errors                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

/* The symbolic name of an errno value, as Node reports it in `err.code`. Aliases (EWOULDBLOCK,
 * EOPNOTSUPP, EDEADLOCK) share a value with the name listed, so only one of each appears. */
static const char *errno_name(int e) {
  switch (e) {
#define ERRNO_CASE(n) \
  case n:             \
    return #n;
    ERRNO_CASE(EPERM)
    ERRNO_CASE(ENOENT)
    ERRNO_CASE(ESRCH)
    ERRNO_CASE(EINTR)
    ERRNO_CASE(EIO)
    ERRNO_CASE(ENXIO)
    ERRNO_CASE(E2BIG)
    ERRNO_CASE(ENOEXEC)
    ERRNO_CASE(EBADF)
    ERRNO_CASE(ECHILD)
    ERRNO_CASE(EAGAIN)
    ERRNO_CASE(ENOMEM)
    ERRNO_CASE(EACCES)
    ERRNO_CASE(EFAULT)
    ERRNO_CASE(ENOTBLK)
    ERRNO_CASE(EBUSY)
    ERRNO_CASE(EEXIST)
    ERRNO_CASE(EXDEV)
    ERRNO_CASE(ENODEV)
    ERRNO_CASE(ENOTDIR)
    ERRNO_CASE(EISDIR)
    ERRNO_CASE(EINVAL)
    ERRNO_CASE(ENFILE)
    ERRNO_CASE(EMFILE)
    ERRNO_CASE(ENOTTY)
    ERRNO_CASE(ETXTBSY)
    ERRNO_CASE(EFBIG)
    ERRNO_CASE(ENOSPC)
    ERRNO_CASE(ESPIPE)
    ERRNO_CASE(EROFS)
    ERRNO_CASE(EMLINK)
    ERRNO_CASE(EPIPE)
    ERRNO_CASE(EDOM)
    ERRNO_CASE(ERANGE)
    ERRNO_CASE(EDEADLK)
    ERRNO_CASE(ENAMETOOLONG)
    ERRNO_CASE(ENOLCK)
    ERRNO_CASE(ENOSYS)
    ERRNO_CASE(ENOTEMPTY)
    ERRNO_CASE(ELOOP)
    ERRNO_CASE(ENODATA)
    ERRNO_CASE(EOVERFLOW)
    ERRNO_CASE(EILSEQ)
    ERRNO_CASE(ENOTSUP)
    ERRNO_CASE(ESTALE)
    ERRNO_CASE(EDQUOT)
    ERRNO_CASE(ECANCELED)
#undef ERRNO_CASE
    default:
      return "EUNKNOWN";
  }
}

/*
 * A pool thread does the addon's file work in SCHED_BATCH, which differs from the default policy
 * in one thing: a thread of it that wakes does not take the CPU from the thread that is running
 * there (it waits for the next scheduler tick, or a free CPU). Why: the main thread is what keeps
 * a pull or a commit going (it reads the responses, asks for the next objects, hands the files to
 * the pool), and on a machine with few CPUs the pool thread it woke used to take its CPU there
 * and then: measured on an update pull (2-core VM, minbase, ~60 batches of ~3 files), one
 * `writeObjectFiles` call in three held the main thread 1-8 ms instead of ~0.05 ms, 28-42 ms in
 * all. The pool threads keep their fair share of the CPU. Unprivileged (any thread may move
 * itself to SCHED_BATCH); a kernel that refuses it leaves the thread as it was. Node's own work on
 * those threads (fs calls) runs under the same policy from then on. Every job queued with
 * queue_pool_job goes through pool_execute, so no job can miss it.
 */
static void pool_thread_enter(void) {
  static __thread bool entered = false;
  if (entered) return;
  entered = true;
#ifdef SCHED_BATCH
  struct sched_param param = {.sched_priority = 0};
  (void)sched_setscheduler(0, SCHED_BATCH, &param); /* pid 0: this thread */
#endif
}


/* A job as queue_pool_job hands it to N-API: the caller's callbacks and data, behind ours. */
typedef struct {
  napi_async_execute_callback execute;
  napi_async_complete_callback complete;
  void *data;
} pool_trip;

static void pool_execute(napi_env env, void *arg) {
  pool_trip *t = arg;
  pool_thread_enter();
  t->execute(env, t->data);
}

static void pool_complete(napi_env env, napi_status status, void *arg) {
  pool_trip t = *(pool_trip *)arg;
  free(arg);
  t.complete(env, status, t.data);
}

napi_value queue_pool_job(napi_env env, const char *what, napi_async_execute_callback execute,
                          napi_async_complete_callback complete, void *data, napi_async_work *work,
                          napi_deferred *deferred) {
  napi_value promise, resource_name;
  char msg[96];
  pool_trip *trip = malloc(sizeof *trip);
  snprintf(msg, sizeof msg, "arbor:%s", what);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &resource_name);
  if (trip) {
    *trip = (pool_trip){execute, complete, data};
    if (napi_create_promise(env, deferred, &promise) == napi_ok &&
        napi_create_async_work(env, NULL, resource_name, pool_execute, pool_complete, trip, work) == napi_ok) {
      if (napi_queue_async_work(env, *work) == napi_ok) return promise;
      napi_delete_async_work(env, *work);
    }
    free(trip);
  }
  /* the promise, if made, was never returned: dropped unresolved */
  snprintf(msg, sizeof msg, "%s: cannot queue the work", what);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

bool get_array_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage,
                    uint32_t *length) {
  size_t argc = want;
  bool is_array = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return false;
  }
  return true;
}

void reject_pool_job(napi_env env, napi_deferred deferred, const char *what) {
  napi_value error = NULL, msg;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) napi_get_and_clear_last_exception(env, &error);
  else {
    char text[96];
    snprintf(text, sizeof text, "%s: the work did not run", what);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
  }
  napi_reject_deferred(env, deferred, error);
}

/* A Node-style system error for `err`: "ENOENT: no such file or directory, lgetxattr '/x'", with
 * `code`, `errno`, `syscall` and `path`/`dest`; NULL only when out of memory (then a JS error is
 * pending). */
napi_value errno_error(napi_env env, int err, const char *syscall_name, const char *path, const char *dest) {
  char desc_buf[256];
  const char *desc = strerror_r(err, desc_buf, sizeof desc_buf); /* GNU variant: returns a string */
  const char *code = errno_name(err);

  const char *p = path ? path : "";
  const char *d = dest ? dest : "";
  int n = snprintf(NULL, 0, "%s: %s, %s%s%s%s%s%s%s", code, desc, syscall_name, path ? " '" : "", p, path ? "'" : "",
                   dest ? " -> '" : "", d, dest ? "'" : "");
  char *msg = malloc((size_t)n + 1);
  if (!msg) {
    napi_throw_error(env, "ENOMEM", "out of memory while reporting a system error");
    return NULL;
  }
  snprintf(msg, (size_t)n + 1, "%s: %s, %s%s%s%s%s%s%s", code, desc, syscall_name, path ? " '" : "", p,
           path ? "'" : "", dest ? " -> '" : "", d, dest ? "'" : "");
  /* Node's libuv messages are lower-case ("no such file or directory"); match them. */
  size_t code_len = strlen(code);
  if (msg[code_len + 2] >= 'A' && msg[code_len + 2] <= 'Z') msg[code_len + 2] = (char)(msg[code_len + 2] - 'A' + 'a');

  napi_value js_code, js_msg, error, v;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &js_msg);
  free(msg);
  napi_create_error(env, js_code, js_msg, &error);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, error, "path", v);
  }
  if (dest) {
    napi_create_string_utf8(env, dest, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, error, "dest", v);
  }
  return error;
}

/* Throw errno_error(...). */
static void throw_errno(napi_env env, int err, const char *syscall_name, const char *path, const char *dest) {
  napi_value error = errno_error(env, err, syscall_name, path, dest);
  if (error) napi_throw(env, error);
}

/* ------------------------------------------------------------------------------------------------ */
/* Argument helpers (each throws a TypeError/RangeError and returns false on bad input)             */
/* ------------------------------------------------------------------------------------------------ */

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return false;
  }
  return true;
}

/* A NUL-terminated copy of a string or byte-array argument; the caller frees *out. */
bool get_cstr(napi_env env, napi_value v, const char *what, char **out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  char msg[128];
  if (t == napi_string) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return false;
    char *s = malloc(len + 1);
    if (!s) {
      napi_throw_error(env, "ENOMEM", "out of memory");
      return false;
    }
    napi_get_value_string_utf8(env, v, s, len + 1, &len);
    if (strlen(s) != len) {
      free(s);
      snprintf(msg, sizeof msg, "%s must not contain NUL bytes", what);
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
      return false;
    }
    *out = s;
    return true;
  }
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (is_ta) {
    napi_typedarray_type tt;
    size_t len = 0;
    void *data = NULL;
    napi_get_typedarray_info(env, v, &tt, &len, &data, NULL, NULL);
    if (tt == napi_uint8_array) {
      if (memchr(data, 0, len) != NULL) {
        snprintf(msg, sizeof msg, "%s must not contain NUL bytes", what);
        napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
        return false;
      }
      char *s = malloc(len + 1);
      if (!s) {
        napi_throw_error(env, "ENOMEM", "out of memory");
        return false;
      }
      if (len) memcpy(s, data, len);
      s[len] = 0;
      *out = s;
      return true;
    }
  }
  snprintf(msg, sizeof msg, "%s must be a string or Uint8Array", what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

static bool get_fd(napi_env env, napi_value v, int *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "fd must be a number");
    return false;
  }
  double d = 0;
  napi_get_value_double(env, v, &d);
  if (!(d >= 0 && d <= INT32_MAX) || d != (double)(int32_t)d) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "fd must be a non-negative 32-bit integer");
    return false;
  }
  *out = (int)d;
  return true;
}

static bool get_bool(napi_env env, napi_value v, const char *what, bool *out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a boolean", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  return true;
}

bool get_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  double d = 0;
  if (t == napi_number) napi_get_value_double(env, v, &d);
  if (t != napi_number || !(d >= 0 && d <= UINT32_MAX) || d != (double)(uint32_t)d) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an unsigned 32-bit integer", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

static int hex_nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool get_hex_checksum(napi_env env, napi_value v, uint8_t out[32]) {
  char hex[65];
  size_t len = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_latin1(env, v, NULL, 0, &len) != napi_ok || len != 64 ||
      napi_get_value_string_latin1(env, v, hex, sizeof hex, &len) != napi_ok)
    return false;
  for (int k = 0; k < 32; k++) {
    int hi = hex_nibble(hex[2 * k]), lo = hex_nibble(hex[2 * k + 1]);
    if (hi < 0 || lo < 0) return false;
    out[k] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

/* Borrow the bytes of a Uint8Array (or Buffer) argument. */
bool get_bytes(napi_env env, napi_value v, const char *what, const void **data, size_t *len) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (is_ta) {
    napi_typedarray_type tt;
    void *p = NULL;
    napi_get_typedarray_info(env, v, &tt, len, &p, NULL, NULL);
    if (tt == napi_uint8_array) {
      *data = p;
      return true;
    }
  }
  char msg[96];
  snprintf(msg, sizeof msg, "%s must be a Uint8Array", what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

bool copy_bytes(napi_env env, napi_value v, const char *what, uint8_t **out, size_t *len) {
  const void *p = NULL;
  if (!get_bytes(env, v, what, &p, len)) return false;
  *out = malloc(*len ? *len : 1);
  if (!*out) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return false;
  }
  if (*len) memcpy(*out, p, *len);
  return true;
}

static napi_value js_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static napi_value js_undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

static napi_value js_null(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}

/* ------------------------------------------------------------------------------------------------ */
/* OFD locks                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

/* ofdLock(fd, exclusive, wait) -> boolean. Whole-file lock (l_start 0, l_len 0 = to EOF and beyond).
 * A write lock needs an fd opened for writing (else EBADF). Kernels older than 3.15 reject the
 * OFD commands with EINVAL; we then fall back to flock(2), which has the same per-open-file
 * semantics but does not conflict with fcntl locks held by other programs. */
static napi_value OfdLock(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  bool exclusive, wait;
  if (!get_args(env, info, 3, argv) || !get_fd(env, argv[0], &fd) || !get_bool(env, argv[1], "exclusive", &exclusive) ||
      !get_bool(env, argv[2], "wait", &wait))
    return NULL;

  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  fl.l_pid = 0; /* required to be 0 for OFD commands */

  int r;
  do {
    r = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return js_bool(env, true);
  int e = errno;
  if (e == EINVAL) {
    int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
    do {
      r = flock(fd, op);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return js_bool(env, true);
    e = errno;
    if (!wait && e == EWOULDBLOCK) return js_bool(env, false);
    throw_errno(env, e, "flock", NULL, NULL);
    return NULL;
  }
  /* POSIX allows either EAGAIN or EACCES for "a conflicting lock is held". */
  if (!wait && (e == EAGAIN || e == EACCES)) return js_bool(env, false);
  throw_errno(env, e, "fcntl", NULL, NULL);
  return NULL;
}

/* ofdUnlock(fd). Closing the last fd of the open file description also releases the lock. */
static napi_value OfdUnlock(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  int r = fcntl(fd, F_OFD_SETLK, &fl);
  if (r < 0 && errno == EINVAL) {
    r = flock(fd, LOCK_UN);
    if (r < 0) {
      throw_errno(env, errno, "flock", NULL, NULL);
      return NULL;
    }
    return js_undefined(env);
  }
  if (r < 0) {
    throw_errno(env, errno, "fcntl", NULL, NULL);
    return NULL;
  }
  return js_undefined(env);
}

/* ------------------------------------------------------------------------------------------------ */
/* Extended attributes                                                                              */
/* ------------------------------------------------------------------------------------------------ */

/* Either a path (l* calls: never follow a final symlink) or an fd (f* calls). */
typedef struct {
  const char *path;
  int fd;
} xtarget;

static ssize_t x_get(const xtarget *t, const char *name, void *buf, size_t size) {
  return t->path ? lgetxattr(t->path, name, buf, size) : fgetxattr(t->fd, name, buf, size);
}

static ssize_t x_list(const xtarget *t, char *buf, size_t size) {
  return t->path ? llistxattr(t->path, buf, size) : flistxattr(t->fd, buf, size);
}

/* Most values (user.ostreemeta, security.*) are small: one read into a stack buffer; when that is
 * too small (ERANGE), query the size, allocate, read; if the value grew in between, start over. */
static napi_value do_getxattr(napi_env env, const xtarget *t, const char *name, const char *sysname) {
  char small[256];
  ssize_t n = x_get(t, name, small, sizeof small);
  if (n >= 0) {
    napi_value result;
    return napi_create_buffer_copy(env, (size_t)n, small, NULL, &result) == napi_ok ? result : NULL;
  }
  if (errno == ENODATA) return js_null(env);
  if (errno != ERANGE) {
    throw_errno(env, errno, sysname, t->path, NULL);
    return NULL;
  }
  for (int attempt = 0; attempt < XATTR_MAX_ATTEMPTS; attempt++) {
    ssize_t want = x_get(t, name, NULL, 0);
    if (want < 0) {
      if (errno == ENODATA) return js_null(env);
      throw_errno(env, errno, sysname, t->path, NULL);
      return NULL;
    }
    /* +1 so an empty value still gets a real buffer and a value that grew by a byte fails loudly. */
    size_t cap = (size_t)want + 1;
    char *buf = malloc(cap);
    if (!buf) {
      napi_throw_error(env, "ENOMEM", "out of memory");
      return NULL;
    }
    ssize_t got = x_get(t, name, buf, cap);
    if (got >= 0) {
      napi_value result;
      napi_status st = napi_create_buffer_copy(env, (size_t)got, buf, NULL, &result);
      free(buf);
      return st == napi_ok ? result : NULL;
    }
    int e = errno;
    free(buf);
    if (e == ERANGE) continue;
    if (e == ENODATA) return js_null(env);
    throw_errno(env, e, sysname, t->path, NULL);
    return NULL;
  }
  throw_errno(env, ERANGE, sysname, t->path, NULL);
  return NULL;
}

static napi_value do_listxattr(napi_env env, const xtarget *t, const char *sysname) {
  for (int attempt = 0; attempt < XATTR_MAX_ATTEMPTS; attempt++) {
    ssize_t want = x_list(t, NULL, 0);
    if (want < 0) {
      throw_errno(env, errno, sysname, t->path, NULL);
      return NULL;
    }
    size_t cap = (size_t)want + 1;
    char *buf = malloc(cap);
    if (!buf) {
      napi_throw_error(env, "ENOMEM", "out of memory");
      return NULL;
    }
    ssize_t got = x_list(t, buf, cap);
    if (got < 0) {
      int e = errno;
      free(buf);
      if (e == ERANGE) continue;
      throw_errno(env, e, sysname, t->path, NULL);
      return NULL;
    }
    napi_value arr;
    napi_create_array(env, &arr);
    uint32_t idx = 0;
    size_t off = 0;
    while (off < (size_t)got) {
      /* The kernel NUL-terminates every name; tolerate a missing final NUL anyway. */
      size_t n = strnlen(buf + off, (size_t)got - off);
      if (n > 0) {
        napi_value s;
        napi_create_string_utf8(env, buf + off, n, &s);
        napi_set_element(env, arr, idx++, s);
      }
      off += n + 1;
    }
    free(buf);
    return arr;
  }
  throw_errno(env, ERANGE, sysname, t->path, NULL);
  return NULL;
}

/* lgetxattr(path, name) -> Buffer | null (null when the attribute does not exist). */
static napi_value LGetXattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char *path = NULL, *name = NULL;
  napi_value r = NULL;
  if (get_args(env, info, 2, argv) && get_cstr(env, argv[0], "path", &path) && get_cstr(env, argv[1], "name", &name)) {
    xtarget t = {path, -1};
    r = do_getxattr(env, &t, name, "lgetxattr");
  }
  free(path);
  free(name);
  return r;
}

/* fgetxattr(fd, name) -> Buffer | null. */
static napi_value FGetXattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  char *name = NULL;
  napi_value r = NULL;
  if (get_args(env, info, 2, argv) && get_fd(env, argv[0], &fd) && get_cstr(env, argv[1], "name", &name)) {
    xtarget t = {NULL, fd};
    r = do_getxattr(env, &t, name, "fgetxattr");
  }
  free(name);
  return r;
}

/* llistxattr(path) -> string[] (in kernel order). */
static napi_value LListXattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char *path = NULL;
  napi_value r = NULL;
  if (get_args(env, info, 1, argv) && get_cstr(env, argv[0], "path", &path)) {
    xtarget t = {path, -1};
    r = do_listxattr(env, &t, "llistxattr");
  }
  free(path);
  return r;
}

/* flistxattr(fd) -> string[]. */
static napi_value FListXattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  xtarget t = {NULL, fd};
  return do_listxattr(env, &t, "flistxattr");
}

/* mknodWhiteout(path, mode): an overlayfs whiteout, a character device 0:0 with permission bits
 * `mode & 07777` (what `checkout --process-passthrough-whiteouts` makes of `.ostree-wh.NAME`). */
static napi_value MknodWhiteout(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char *path = NULL;
  uint32_t mode = 0;
  napi_value r = NULL;
  if (get_args(env, info, 2, argv) && get_cstr(env, argv[0], "path", &path) && get_u32(env, argv[1], "mode", &mode)) {
    if (mknod(path, S_IFCHR | (mode & 07777), makedev(0, 0)) < 0)
      throw_errno(env, errno, "mknod", path, NULL);
    else
      r = js_undefined(env);
  }
  free(path);
  return r;
}

/* lsetxattr(path, name, value). */
static napi_value LSetXattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char *path = NULL, *name = NULL;
  const void *data = NULL;
  size_t len = 0;
  napi_value r = NULL;
  if (get_args(env, info, 3, argv) && get_cstr(env, argv[0], "path", &path) && get_cstr(env, argv[1], "name", &name) &&
      get_bytes(env, argv[2], "value", &data, &len)) {
    if (lsetxattr(path, name, data, len, 0) < 0)
      throw_errno(env, errno, "lsetxattr", path, NULL);
    else
      r = js_undefined(env);
  }
  free(path);
  free(name);
  return r;
}

/* fsetxattr(fd, name, value). */
static napi_value FSetXattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  char *name = NULL;
  const void *data = NULL;
  size_t len = 0;
  napi_value r = NULL;
  if (get_args(env, info, 3, argv) && get_fd(env, argv[0], &fd) && get_cstr(env, argv[1], "name", &name) &&
      get_bytes(env, argv[2], "value", &data, &len)) {
    if (fsetxattr(fd, name, data, len, 0) < 0)
      throw_errno(env, errno, "fsetxattr", NULL, NULL);
    else
      r = js_undefined(env);
  }
  free(name);
  return r;
}

/* lremovexattr(path, name). */
static napi_value LRemoveXattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char *path = NULL, *name = NULL;
  napi_value r = NULL;
  if (get_args(env, info, 2, argv) && get_cstr(env, argv[0], "path", &path) && get_cstr(env, argv[1], "name", &name)) {
    if (lremovexattr(path, name) < 0)
      throw_errno(env, errno, "lremovexattr", path, NULL);
    else
      r = js_undefined(env);
  }
  free(path);
  free(name);
  return r;
}

/* fremovexattr(fd, name). */
static napi_value FRemoveXattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  char *name = NULL;
  napi_value r = NULL;
  if (get_args(env, info, 2, argv) && get_fd(env, argv[0], &fd) && get_cstr(env, argv[1], "name", &name)) {
    if (fremovexattr(fd, name) < 0)
      throw_errno(env, errno, "fremovexattr", NULL, NULL);
    else
      r = js_undefined(env);
  }
  free(name);
  return r;
}

/* ------------------------------------------------------------------------------------------------ */
/* Inode flags                                                                                      */
/* ------------------------------------------------------------------------------------------------ */

/* Open a regular file or directory so we can ioctl it, without following a final symlink and
 * without ever opening a device node: FS_IOC_* on a device would be handled by its driver, and
 * merely opening some devices has side effects. Returns -1 after throwing. */
static int open_for_flags(napi_env env, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    throw_errno(env, errno, "lstat", path, NULL);
    return -1;
  }
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    /* chattr(1) reports the same for symlinks, FIFOs, sockets and devices. */
    throw_errno(env, ENOTSUP, "ioctl", path, NULL);
    return -1;
  }
  int fd;
  do {
    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    throw_errno(env, errno, "open", path, NULL);
    return -1;
  }
  /* The path could have been swapped between lstat and open; check what we actually opened. */
  int e = 0;
  if (fstat(fd, &st) < 0)
    e = errno;
  else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    e = ENOTSUP;
  if (e) {
    close(fd);
    throw_errno(env, e, e == ENOTSUP ? "ioctl" : "fstat", path, NULL);
    return -1;
  }
  return fd;
}

/* getInodeFlags(path) -> number (FS_*_FL bits). */
static napi_value GetInodeFlags(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char *path = NULL;
  napi_value r = NULL;
  if (get_args(env, info, 1, argv) && get_cstr(env, argv[0], "path", &path)) {
    int fd = open_for_flags(env, path);
    if (fd >= 0) {
      /* The ioctl is declared with `long` but every filesystem reads and writes an int. */
      int flags = 0;
      if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
        throw_errno(env, errno, "ioctl", path, NULL);
      else
        napi_create_uint32(env, (uint32_t)flags, &r);
      close(fd);
    }
  }
  free(path);
  return r;
}

/* setInodeFlags(path, flags). Changing FS_IMMUTABLE_FL / FS_APPEND_FL needs CAP_LINUX_IMMUTABLE. */
static napi_value SetInodeFlags(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char *path = NULL;
  uint32_t flags = 0;
  napi_value r = NULL;
  if (get_args(env, info, 2, argv) && get_cstr(env, argv[0], "path", &path) && get_u32(env, argv[1], "flags", &flags)) {
    int fd = open_for_flags(env, path);
    if (fd >= 0) {
      int f = (int)flags;
      if (ioctl(fd, FS_IOC_SETFLAGS, &f) < 0)
        throw_errno(env, errno, "ioctl", path, NULL);
      else
        r = js_undefined(env);
      close(fd);
    }
  }
  free(path);
  return r;
}

/* ------------------------------------------------------------------------------------------------ */
/* syncfs, renameat2                                                                                */
/* ------------------------------------------------------------------------------------------------ */

static napi_value SyncFs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (syncfs(fd) < 0) {
    throw_errno(env, errno, "syncfs", NULL, NULL);
    return NULL;
  }
  return js_undefined(env);
}

/* Called through syscall(2) directly: glibc only gained a wrapper in 2.28 and the kernel
 * interface is identical. */
static int sys_renameat2(const char *from, const char *to, unsigned int flags) {
#ifdef SYS_renameat2
  return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
#else
  errno = ENOSYS;
  return -1;
#endif
}

static napi_value rename_with(napi_env env, napi_callback_info info, unsigned int flags) {
  napi_value argv[2];
  char *from = NULL, *to = NULL;
  napi_value r = NULL;
  if (get_args(env, info, 2, argv) && get_cstr(env, argv[0], "oldPath", &from) && get_cstr(env, argv[1], "newPath", &to)) {
    if (sys_renameat2(from, to, flags) < 0)
      throw_errno(env, errno, "renameat2", from, to);
    else
      r = js_undefined(env);
  }
  free(from);
  free(to);
  return r;
}

/* renameNoReplace(oldPath, newPath): EEXIST if newPath exists. */
static napi_value RenameNoReplace(napi_env env, napi_callback_info info) {
  return rename_with(env, info, RENAME_NOREPLACE);
}

/* renameExchange(a, b): atomically swap two existing paths (either may be a directory). */
static napi_value RenameExchange(napi_env env, napi_callback_info info) {
  return rename_with(env, info, RENAME_EXCHANGE);
}

/* ------------------------------------------------------------------------------------------------ */
/* freezeThaw: FIFREEZE + FITHAW with a watchdog                                                    */
/* ------------------------------------------------------------------------------------------------ */

/* The watchdog (a detached grandchild): thaws the filesystem if the caller dies or stalls between
 * FIFREEZE and FITHAW, so a kill -9 at the wrong instant cannot leave /boot frozen. Only
 * async-signal-safe calls here: we were forked from a multi-threaded process. */
static void freeze_watchdog(int sock, int fs_fd, int timeout_ms) {
  char c = '!';
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
  }
  /* Keep only the socket and the filesystem fd: never hold the caller's pipes open. */
  if (dup2(sock, 3) < 0 || dup2(fs_fd, 4) < 0) _exit(1);
#ifdef SYS_close_range
  syscall(SYS_close_range, 5U, ~0U, 0U);
#else
  for (int fd = 5; fd < 4096; fd++) close(fd);
#endif
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  if (write(3, &c, 1) != 1) _exit(1);
  ssize_t n;
  do n = read(3, &c, 1); while (n < 0 && errno == EINTR);
  if (n != 1) _exit(0); /* the caller went away before freezing */
  struct pollfd p = {.fd = 3, .events = POLLIN};
  int r;
  do r = poll(&p, 1, timeout_ms); while (r < 0 && errno == EINTR);
  if (r == 1 && (p.revents & POLLIN)) {
    do n = read(3, &c, 1); while (n < 0 && errno == EINTR);
    if (n == 1) _exit(0); /* the caller thawed (or fell back to syncfs) and said so */
  }
  /* Timeout, hang-up or error: thaw. EINVAL (not frozen) is fine. */
  ioctl(4, FITHAW, 0);
  _exit(0);
}

/* freezeThaw(fd, timeoutMs, stallMs): flush the filesystem containing `fd` by freezing and thawing it (what
 * GRUB needs on XFS: a frozen filesystem has its journal checkpointed). Returns true if it was
 * frozen and thawed, false if freezing is not possible here (EOPNOTSUPP, ENOSYS, EPERM, EBUSY), in
 * which case syncfs(2) was done instead. `stallMs` (tests only) sleeps while frozen, so a test can
 * kill the caller there and see the watchdog thaw. */
static napi_value FreezeThaw(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  int32_t timeout_ms = 30000, stall_ms = 0;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  size_t argc = 3;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  for (size_t i = 1; i < argc && i < 3; i++) {
    napi_valuetype t;
    napi_typeof(env, argv[i], &t);
    if (t == napi_number) napi_get_value_int32(env, argv[i], i == 1 ? &timeout_ms : &stall_ms);
  }
  if (timeout_ms <= 0) timeout_ms = 30000;
  if (fcntl(fd, F_GETFD) < 0) {
    throw_errno(env, errno, "fcntl", NULL, NULL);
    return NULL;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    throw_errno(env, errno, "socketpair", NULL, NULL);
    return NULL;
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    throw_errno(env, e, "fork", NULL, NULL);
    return NULL;
  }
  if (pid == 0) {
    close(sv[0]);
    setsid();
    pid_t g = fork();
    if (g != 0) _exit(g < 0 ? 1 : 0);
    freeze_watchdog(sv[1], fd, timeout_ms);
  }
  close(sv[1]);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  int sock = sv[0];
  char c = '!';
  ssize_t n;
  const char *step = "read(watchdog init)";
  do n = read(sock, &c, 1); while (n < 0 && errno == EINTR);
  if (n != 1) goto fail_io;
  step = "write(watchdog start)";
  if (send(sock, &c, 1, MSG_NOSIGNAL) != 1) goto fail_io;
  bool frozen = true;
  if (ioctl(fd, FIFREEZE, 0) != 0) {
    int e = errno;
    if (e != EOPNOTSUPP && e != ENOSYS && e != EPERM && e != EBUSY) {
      if (send(sock, &c, 1, MSG_NOSIGNAL) != 1) { /* the watchdog then thaws, harmlessly */
      }
      close(sock);
      throw_errno(env, e, "ioctl(FIFREEZE)", NULL, NULL);
      return NULL;
    }
    frozen = false;
    if (syncfs(fd) != 0) {
      e = errno;
      if (send(sock, &c, 1, MSG_NOSIGNAL) != 1) { /* the watchdog then thaws, harmlessly */
      }
      close(sock);
      throw_errno(env, e, "syncfs", NULL, NULL);
      return NULL;
    }
  } else {
    if (stall_ms > 0) usleep((useconds_t)stall_ms * 1000);
    if (ioctl(fd, FITHAW, 0) != 0 && errno != EINVAL) {
      int e = errno;
      close(sock); /* the watchdog sees the hang-up and retries the thaw */
      throw_errno(env, e, "ioctl(FITHAW)", NULL, NULL);
      return NULL;
    }
  }
  /* EPIPE here means the watchdog already timed out and thawed: nothing is left frozen. */
  if (send(sock, &c, 1, MSG_NOSIGNAL) != 1 && errno != EPIPE && errno != ECONNRESET) {
    n = -1;
    step = "write(watchdog done)";
    goto fail_io;
  }
  close(sock);
  return js_bool(env, frozen);
fail_io: {
  int e = n == 0 ? EPIPE : errno;
  close(sock);
  throw_errno(env, e ? e : EPIPE, step, NULL, NULL);
  return NULL;
}
}

/* ------------------------------------------------------------------------------------------------ */
/* Module                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

/*
 * glibc's malloc adjusts two thresholds as a program runs: each mmapped buffer it frees raises the
 * mmap threshold to that buffer's size (up to 32 MiB) and the trim threshold to twice that. Once a
 * commit's pool threads have freed a few buffers of some MiB (whole files read, packed, unpacked),
 * every smaller buffer comes from a per-thread arena that is then hardly ever trimmed, and peak
 * RSS grows with the tree: Debian minbase 124 MB, `full` (15k files) 160 MB. Setting the mmap
 * threshold once, process-wide, when the addon loads turns that adjustment off: buffers of 4 MiB
 * or more are mmapped (and unmapped when freed), arenas are trimmed as soon as 128 KiB at their top
 * are free (glibc's default), and the peak stays flat (minbase 98 MB, full 117-133 MB). Measured
 * cost: more page faults (minbase commit 29k -> 45k), 1-2% more CPU, the same wall time.
 * MALLOC_MMAP_THRESHOLD_ in the environment, if set, wins.
 */
#define MMAP_THRESHOLD (4 << 20)

NAPI_MODULE_INIT() {
  napi_value immutable_fl, append_fl, chunked;
#ifdef __GLIBC__
  if (!getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
#endif
  napi_create_uint32(env, FS_IMMUTABLE_FL, &immutable_fl);
  napi_create_uint32(env, FS_APPEND_FL, &append_fl);
  napi_get_boolean(env, true, &chunked);
#define FN(js, c) {js, NULL, c, NULL, NULL, NULL, napi_enumerable, NULL}
  napi_property_descriptor props[] = {
      FN("ofdLock", OfdLock),
      FN("ofdUnlock", OfdUnlock),
      FN("lgetxattr", LGetXattr),
      FN("fgetxattr", FGetXattr),
      FN("llistxattr", LListXattr),
      FN("flistxattr", FListXattr),
      FN("lsetxattr", LSetXattr),
      FN("mknodWhiteout", MknodWhiteout),
      FN("fsetxattr", FSetXattr),
      FN("lremovexattr", LRemoveXattr),
      FN("fremovexattr", FRemoveXattr),
      FN("getInodeFlags", GetInodeFlags),
      FN("setInodeFlags", SetInodeFlags),
      FN("syncfs", SyncFs),
      FN("renameNoReplace", RenameNoReplace),
      FN("renameExchange", RenameExchange),
      FN("freezeThaw", FreezeThaw),
      FN("checkoutFiles", CheckoutFiles),
      FN("checkoutDirs", CheckoutDirs),
      FN("checkoutTree", CheckoutTree),
      FN("checkoutTreeFinish", CheckoutTreeFinish),
      FN("scanDir", ScanDir),
      FN("writeObjectFile", WriteObjectFile),
      FN("writeObjectFiles", WriteObjectFiles),
      FN("renameFiles", RenameFiles),
      FN("fsyncPaths", FsyncPaths),
      FN("readFiles", ReadFiles),
      FN("readFilesHashed", ReadFilesHashed),
      FN("walkTrees", WalkTrees),
      FN("deflateChunk", DeflateChunk),
      {"FS_IMMUTABLE_FL", NULL, NULL, NULL, NULL, immutable_fl, napi_enumerable, NULL},
      {"FS_APPEND_FL", NULL, NULL, NULL, NULL, append_fl, napi_enumerable, NULL},
      /* writeObjectFile(s) take `data` as an array of chunks with `unpack` (write_file.c) */
      {"UNPACK_CHUNKS", NULL, NULL, NULL, NULL, chunked, napi_enumerable, NULL},
  };
#undef FN
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
