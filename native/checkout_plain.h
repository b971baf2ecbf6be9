/*
 * What the native checkouts (checkout_files.c, checkout_tree.c) do themselves: the plain cases of
 * a hardlink checkout, as checkout.ts decides them (see checkout_files.c's header). Everything
 * else is "not plain" and left to the JS checkout.
 */
#ifndef ARBOR_CHECKOUT_PLAIN_H
#define ARBOR_CHECKOUT_PLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { LINK_BARE = 0, LINK_BARE_USER = 1, LINK_BARE_USER_ONLY = 2 };

typedef enum {
  NOT_PLAIN,
  PLAIN_LINK,    /* hardlink the object */
  PLAIN_SYMLINK, /* make a symlink to the target read (bare-user symlink object) */
  PLAIN_EMPTY,   /* (user mode, extended) create an empty file with the object's mode (readable
                    by its owner: an unreadable one is copied with 0400 added, by JS) */
} plain_kind;

/* What to do with the content object at `path` for link kind `kind`; for PLAIN_SYMLINK the target
 * is read into `target` (cap bytes), for PLAIN_EMPTY *mode_out is the object's file mode.
 * `extended` (the tree walk) adds two cases checkoutFiles leaves to JS: empty regular files
 * (bare-user, bare-user-only: PLAIN_EMPTY) and bare-user-only symlinks (PLAIN_SYMLINK). */
plain_kind checkout_classify(const char *path, int kind, bool extended, char *target, size_t cap,
                             uint32_t *mode_out);

#endif
