/** `arbor commit [PATH]`: commit a tree (as `ostree commit`); prints the new commit's checksum. */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "commit",
  summary: "Commit a new revision",
  usage: "[OPTION…] [PATH]",
  repo: true,
  maxArgs: 1,
  options: [
    { long: "subject", short: "s", arg: "SUBJECT", help: "One line subject" },
    { long: "body", short: "m", arg: "BODY", help: "Full description" },
    { long: "body-file", short: "F", arg: "FILE", help: "Commit message from FILE path" },
    {
      long: "editor",
      short: "e",
      help: "Use an editor to write the commit message (not supported: use -s/-m)",
    },
    { long: "branch", short: "b", arg: "BRANCH", help: "Branch" },
    { long: "orphan", help: "Create a commit without writing a ref" },
    { long: "no-bindings", help: "Do not write any ref bindings" },
    { long: "bind-ref", arg: "REF", repeat: true, help: "Add a ref to ref binding commit metadata" },
    {
      long: "base",
      arg: "REV",
      help: "Start from the given commit as a base (same as --tree=ref=REV first)",
    },
    {
      long: "tree",
      arg: "dir=PATH or tar=TARFILE or ref=COMMIT",
      repeat: true,
      help: "Overlay the given argument as a tree",
    },
    { long: "add-metadata-string", arg: "KEY=VALUE", repeat: true, help: "Add a key/value pair to metadata" },
    {
      long: "add-metadata",
      arg: "KEY=VALUE",
      repeat: true,
      help: "Add a key/value pair to metadata, where the KEY is a string, and VALUE is g_variant_parse() formatted",
    },
    {
      long: "keep-metadata",
      arg: "KEY",
      repeat: true,
      help: "Keep metadata KEY and its associated VALUE from parent",
    },
    {
      long: "add-detached-metadata-string",
      arg: "KEY=VALUE",
      repeat: true,
      help: "Add a key/value pair to detached metadata",
    },
    { long: "owner-uid", arg: "UID", help: "Set file ownership user id" },
    { long: "owner-gid", arg: "GID", help: "Set file ownership group id" },
    {
      long: "canonical-permissions",
      help: "Canonicalize permissions in the same way bare-user does for hardlinked files",
    },
    { long: "bootable", help: "Flag this commit as a bootable OSTree (e.g. contains a Linux kernel)" },
    { long: "mode-ro-executables", help: "Ensure executable files are not writable" },
    { long: "no-xattrs", help: "Do not import extended attributes" },
    {
      long: "selinux-policy",
      arg: "PATH",
      help: "Set SELinux labels based on policy in root filesystem PATH (accepted; labels are taken from the source xattrs)",
    },
    {
      long: "selinux-policy-from-base",
      help: "Set SELinux labels based on the first --tree argument (accepted)",
    },
    {
      long: "link-checkout-speedup",
      help: "Optimize for commits of trees composed of hardlinks into the repository (a file hardlinked to a content object is recorded as that object, with its owner, mode and xattrs, unless a modifier changes them; its data is not read)",
    },
    {
      long: "devino-canonical",
      short: "I",
      help: "Assume hardlinked objects are unmodified: take them even where modifiers or --skip-list would apply. Implies --link-checkout-speedup",
    },
    {
      long: "tar-autocreate-parents",
      help: "When loading tar archives, automatically create parent directories as needed",
    },
    {
      long: "tar-pathname-filter",
      arg: "REGEX,REPLACEMENT",
      help: "When loading tar archives, replace the first match of REGEX in each path with REPLACEMENT",
    },
    { long: "skip-if-unchanged", help: "If the contents are unchanged from previous commit, do nothing" },
    { long: "consume", help: "Consume (delete) content after commit (for local directories)" },
    {
      long: "statoverride",
      arg: "PATH",
      help: "File containing list of modifications to make to permissions",
    },
    { long: "skip-list", arg: "PATH", help: "File containing list of files to skip" },
    { long: "parent", arg: "COMMIT", help: 'Parent commit checksum, or "none"' },
    { long: "timestamp", arg: "TIMESTAMP", help: "Override the timestamp of the commit" },
    { long: "fsync", arg: "POLICY", help: "Specify how to invoke fsync(): true (default) or false" },
    { long: "disable-fsync", help: "Do not invoke fsync()", hidden: true },
    { long: "table-output", help: "Output more information in a KEY: VALUE format" },
    {
      long: "generate-sizes",
      help: "Generate size information along with commit metadata",
    },
    {
      long: "sign",
      arg: "KEY-ID",
      repeat: true,
      help: "Sign the commit with the given private key (ed25519: base64 secret key)",
    },
    { long: "sign-type", arg: "NAME", help: "Signature type to use (defaults to 'ed25519')" },
    { long: "gpg-sign", arg: "KEY-ID", repeat: true, help: "GPG Key ID to sign the commit with" },
    { long: "gpg-homedir", arg: "HOMEDIR", help: "GPG Homedir to use when looking for keyrings" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { commitTree } = await import("../../repo/commit.js");
    const { parseCommitArgs } = await import("../commit-args.js");
    const repo = Repo.open(ctx.repoPath());
    const opts = await parseCommitArgs(ctx, args, repo);
    const progress = ctx.progress();
    const { commitSignHook } = await import("../commit-sign.js");
    const signDetached = commitSignHook(args);
    const result = await commitTree(repo, {
      ...opts,
      ...(signDetached ? { signDetached } : {}),
      signal: ctx.signal,
      onProgress: (p) =>
        progress.update(`Committing: ${p.files} files, ${(p.bytes / 1048576).toFixed(1)} MB`),
    });
    progress.done();
    if (result.written && args.has("consume")) {
      const { rmSync } = await import("node:fs");
      for (const t of opts.trees) if (t.kind === "dir") rmSync(t.path, { recursive: true, force: true });
    }
    if (args.has("table-output")) {
      const st = result.stats;
      ctx.out.lines([
        `Commit: ${result.commit}`,
        `Metadata Total: ${st.metadataTotal}`,
        `Metadata Written: ${st.metadataWritten}`,
        `Content Total: ${st.contentTotal}`,
        `Content Written: ${st.contentWritten}`,
        `Content Cache Hits: ${st.contentCacheHits}`,
        `Content Bytes Written: ${st.bytesWritten}`,
      ]);
      return;
    }
    ctx.out.line(result.commit);
  },
};
