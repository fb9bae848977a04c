import { generateKeyPair } from '../../verify/index.ts'
import { defineCommand } from '../args.ts'
import { readConfig, writeConfig } from '../config.ts'
import { fields } from '../output.ts'
import { fileKey, listKeys, readKey, writeKey } from '../keys.ts'

export default defineCommand({
  usage: ['init [--name NAME] [--relay URL …]'],
  summary: 'Create your signing key and config (safe to run again)',
  description: `Creates the config directory, an Ed25519 key named "default" (unless you have one), and
records any --relay URLs in the config. Prints your did:key: the name others use to trust you.
The directory is $VOUCH_HOME, else $XDG_CONFIG_HOME/vouch, else ~/.config/vouch.`,
  options: {
    name: { type: 'string', value: 'NAME', description: 'name of the key to create (default "default")' },
  },
  args: [0, 0],
  examples: [
    'vouch init                                   # a key, no relays yet',
    'vouch init --relay https://relay.example.org # and a relay to talk to',
    'VOUCH_HOME=/tmp/alice vouch init --json      # an isolated identity, machine-readable',
  ],
  async run(ctx, values) {
    const p = ctx.paths
    const config = await readConfig(p)
    const name = values.name ?? config.key ?? 'default'
    let created = false
    if (!(await listKeys(p)).includes(name)) {
      const kp = await generateKeyPair()
      await writeKey(p, name, fileKey(kp.secretKey, kp.publicKey))
      created = true
    }
    const key = await readKey(p, name)
    const relays = values.relay?.length ? (await ctx.relaySource()).list : []
    const next = { ...config, key: config.key ?? name, relays: [...new Set([...config.relays, ...relays])] }
    await writeConfig(p, next)
    ctx.out.result(
      [
        fields([
          ['did', key.did],
          ['key', `${name} (${created ? 'created' : 'existing'}, ${key.path})`],
          ['config', p.config],
          ['relays', next.relays.length ? next.relays.join(' ') : '(none: add one with `vouch relay add URL`)'],
        ]),
      ],
      { did: key.did, key: name, created, keyPath: key.path, config: p.config, relays: next.relays },
    )
  },
})
