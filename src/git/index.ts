/** Git object ids of content: pure tree serialisation here; src/git/fs.ts walks a directory in Node. */
export { compareTreeEntries, GIT_MODES, objectHeader, objectId, treeBody, type GitMode, type GitTreeEntry } from './tree.ts'
