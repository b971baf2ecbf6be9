/**
 * The libostree release whose formats, wire behaviour and CLI arbor matches: printed by
 * `--version` and sent in the HTTP user agent. Its own module so that start-up (`--version`,
 * every CLI run) does not load the HTTP fetcher.
 */
export const LIBOSTREE_COMPAT_VERSION = "2022.7";
