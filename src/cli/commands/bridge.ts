import { defineCommand, positiveInt, SIGNING_OPTIONS } from '../args.ts'
import { usageError } from '../errors.ts'

/**
 * `vouch bridge npm|nix …`: one command, one file per source (bridge-npm.ts, bridge-nix.ts),
 * loaded only for the source asked for.
 */
export default defineCommand({
  usage: [
    'bridge npm PACKAGE[@RANGE]… [--registry URL] [--upload] [--dry-run]',
    'bridge npm --follow CHANGES_URL [--registry URL] [--state FILE] [--once] [--batch N]',
    'bridge nix STORE_PATH|HASH|NARINFO_URL… [--cache URL] [--cache-key NAME:KEY] [--dry-run]',
  ],
  summary: 'Publish what npm or a Nix binary cache says, signed by your (bridge) key',
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
    'vouch bridge nix https://cache.example.org/0123456789abcdfghijklmnpqrsvwxyz.narinfo --cache https://cache.example.org --cache-key cache.example.org-1:AAAA…=',
  ],
  async run(ctx, values, [source, ...targets]) {
    positiveInt('concurrency', values.concurrency)
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
    throw usageError(`unknown bridge ${JSON.stringify(source)}`, 'the bridges are `vouch bridge npm` and `vouch bridge nix`')
  },
})
