{
  "targets": [
    {
      "target_name": "arbor_native",
      "sources": ["arbor_native.c", "checkout_files.c", "checkout_tree.c", "dirtree_read.c", "deflate_chunk.c", "read_files.c", "rename_files.c", "scan_dir.c", "walk_trees.c", "write_file.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE", "_FILE_OFFSET_BITS=64"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "-fvisibility=hidden"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
