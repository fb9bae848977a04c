import { defineCommand, positiveInt, SIGNING_OPTIONS } from '../args.ts'
import { usageError } from '../errors.ts'

/**
 * `vouch bridge npm|nix|git|oci …`: one command, one file per source (bridge-npm.ts, bridge-nix.ts, …),
 * loaded only for the source asked for.
 */
export default defineCommand({
  usage: [
    'bridge npm PACKAGE[@RANGE]… [--registry URL] [--upload] [--dry-run]',
    'bridge npm --follow CHANGES_URL [--registry URL] [--state FILE] [--once] [--batch N]',
    'bridge nix STORE_PATH|HASH|NARINFO_URL… [--cache URL] [--cache-key NAME:KEY] [--dry-run]',
    'bridge git URL|DIR --name NAME [--tag TAG] [--dry-run]',
    'bridge oci LAYOUT_DIR --name NAME [--tag TAG] [--dry-run]',
  ],
  summary: 'Publish what npm, a Nix binary cache, a git repository or an OCI image layout says, signed by your (bridge) key',
  description: `A bridge reads another system and publishes what it saw as claims of your key, so others can
decide to trust that key as a bridge (docs/BRIDGES.md). Run it with a key kept for the purpose
(--key NAME). Already-published claims are skipped, so running it again is cheap and safe.

npm: reads PACKAGE's document from the registry and publishes, for each version (in RANGE, an
npm range such as ^1.2.0, ~1.2, 1.x, >=1.0.0 <2), "npm published pkg:npm/NAME@VERSION as
<integrity>". Versions with only a sha1 shasum get the weaker claim (meta.weak); deprecated
versions carry the message; an unpublished version this key had claimed is withdrawn.
--upload downloads each tarball, checks it against the integrity and uploads it to the relays.

npm --follow: follows a registry's CouchDB-style changes feed (npm's is
https://replicate.npmjs.com/registry/_changes) from a checkpoint and bridges every package it
names, in batches; the checkpoint (--state, default under VOUCH_HOME/bridge/) moves only after the
relays took a batch. Statements take their time from the packument, so a re-run repeats only
statements the relays already hold. Stops on SIGINT/SIGTERM; --once stops at the feed's end.

nix: reads <hash>.narinfo from the binary cache, verifies the cache's signature with its key,
and publishes "building nix:/nix/store/<hash>-<name> produced <NAR hash>". The default cache is
https://cache.nixos.org with its key cache.nixos.org-1:6NCH…; another cache needs --cache-key.

git: lists the repository's tags with \`git ls-remote\` (annotated tags peeled to their commit)
and publishes "NAME@VERSION is commit X" (\`git-commit\`) for each, VERSION the tag without a
\`v\` before a digit; from a local clone also "… is tree Y" (\`git-tree\`). A tag that moved
gets its old claim withdrawn. Both object formats (sha1, sha256). NAME may be a purl without
version (pkg:github/owner/repo).

oci: reads an OCI image layout (oci-layout, index.json, blobs/sha256/…), checks every blob it
reads against its digest, and publishes "pkg:oci/NAME@TAG is <index or manifest digest>"
(\`source\`) and, for an index, "building <index digest> produced <manifest digest>" (\`build\`)
per platform (meta.system, e.g. linux/amd64). Tags come from the layout's ref names; --tag picks
one (or names the only image of a layout without ref names). Digests print as sha256:<hex>.

Nothing is published when the source is malformed or a signature does not verify (exit 1).`,
  options: {
    ...SIGNING_OPTIONS,
    registry: { type: 'string', value: 'URL', description: 'npm: the registry (default https://registry.npmjs.org)' },
    upload: { type: 'boolean', description: 'npm: also download, check and upload the tarballs' },
    follow: { type: 'string', value: 'URL', description: 'npm: follow this changes feed instead of naming packages' },
    state: { type: 'string', value: 'FILE', description: 'npm --follow: the checkpoint file' },
    once: { type: 'boolean', description: 'npm --follow: stop at the end of the feed' },
    batch: { type: 'string', value: 'N', description: 'npm --follow: statements per batch and checkpoint (default 1000)' },
    cache: { type: 'string', value: 'URL', description: 'nix: the binary cache (default https://cache.nixos.org)' },
    'cache-key': { type: 'string', value: 'NAME:KEY', description: "nix: the cache's public key, as in Nix's trusted-public-keys" },
    name: { type: 'string', value: 'NAME', description: 'git, oci: the package or image name the tags are versions of' },
    tag: { type: 'string', value: 'TAG', description: 'git, oci: bridge this tag only' },
    'dry-run': { type: 'boolean', description: 'sign and show what would be published, publish nothing' },
    concurrency: { type: 'string', value: 'N', description: 'lookups in flight at once (default 16)' },
  },
  args: [1, 1000],
  examples: [
    'vouch bridge npm left-pad --key npm-bridge',
    "vouch bridge npm @types/node@'>=20 <21' --upload",
    'vouch bridge npm mylib --registry https://npm.example.org --dry-run --json',
    'vouch bridge npm --follow https://replicate.npmjs.com/registry/_changes --key npm-bridge --once',
    'vouch bridge nix /nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10',
    'vouch bridge git https://codeberg.org/alice/mylib.git --name mylib --key forge-bridge',
    'vouch bridge oci ./alpine-layout --name alpine --tag 3.20 --dry-run',
    'vouch bridge nix https://cache.example.org/0123456789abcdfghijklmnpqrsvwxyz.narinfo --cache https://cache.example.org --cache-key cache.example.org-1:AAAA…=',
  ],
  async run(ctx, values, [source, ...targets]) {
    positiveInt('concurrency', values.concurrency)
    if ((source === 'npm' || source === 'nix') && (values.name !== undefined || values.tag !== undefined)) throw usageError(`--name and --tag are for \`vouch bridge git\` and \`vouch bridge oci\``)
    if (source === 'npm') {
      for (const o of ['cache', 'cache-key'] as const) if (values[o] !== undefined) throw usageError(`--${o} is for \`vouch bridge nix\``)
      if (values.follow !== undefined) return (await import('./bridge-npm-follow.ts')).followCommand(ctx, values, targets)
      for (const o of ['state', 'once', 'batch'] as const) if (values[o] !== undefined) throw usageError(`--${o} is for \`vouch bridge npm --follow\``)
      if (targets.length === 0) throw usageError('name at least one package, or follow a feed with --follow URL')
      return (await import('./bridge-npm.ts')).bridgeNpmCommand(ctx, values, targets)
    }
    if (source === 'nix') {
      if (targets.length === 0) throw usageError('name at least one store path, hash or narinfo URL')
      for (const o of ['registry', 'upload', 'follow', 'state', 'once', 'batch'] as const) if (values[o] !== undefined) throw usageError(`--${o} is for \`vouch bridge npm\``)
      return (await import('./bridge-nix.ts')).bridgeNixCommand(ctx, values, targets)
    }
    if (source === 'git' || source === 'oci') {
      for (const o of ['registry', 'upload', 'cache', 'cache-key', 'concurrency'] as const) if (values[o] !== undefined) throw usageError(`--${o} is not an option of \`vouch bridge ${source}\``)
      if (source === 'git') return (await import('./bridge-git.ts')).bridgeGitCommand(ctx, values, targets)
      return (await import('./bridge-oci.ts')).bridgeOciCommand(ctx, values, targets)
    }
    throw usageError(`unknown bridge ${JSON.stringify(source)}`, 'the bridges are `vouch bridge npm`, `nix`, `git` and `oci`')
  },
})
