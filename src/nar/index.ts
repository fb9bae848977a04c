/**
 * Nix ARchive (NAR): the serialisation Nix hashes to name a directory (`nix-hash`, `nix hash path`,
 * the `narHash` of a narinfo). Unlike tar it has exactly one encoding per tree: no timestamps,
 * owners or permissions beyond one executable bit, and directory entries sorted by name bytes.
 * So "the NAR hash of a directory" is a content address that two machines compute alike.
 *
 * Pure, no I/O: runs in Workers and Node. The tree is abstract (`NarNode`, tree.ts); write.ts
 * serialises it, parse.ts reads it back, and src/nar/fs.ts adapts the
 * file system to it.
 *
 * Wire format (Eelco Dolstra's thesis, fig. 5.2; Nix src/libutil/archive.cc): every string is a
 * u64 little-endian length, the bytes, then zero padding to a multiple of 8.
 *   nar       = "nix-archive-1" node
 *   node      = "(" "type" ( regular | symlink | directory ) ")"
 *   regular   = "regular" [ "executable" "" ] "contents" <u64 size> <bytes> <padding>
 *   symlink   = "symlink" "target" <target>
 *   directory = "directory" { "entry" "(" "name" <name> "node" node ")" }
 */

export { compareBytes, NAR_LIMITS, type NarBytes, type NarDirectory, type NarEntries, type NarNode, type NarRegular, type NarSymlink } from './tree.ts'
export { narChunks } from './write.ts'
export { NarParseError, parseNar, type NarEntry, type NarParseOptions } from './parse.ts'
