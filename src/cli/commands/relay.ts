import { relayBase } from '../../client/index.ts'
import { defineCommand } from '../args.ts'
import { readConfig, writeConfig } from '../config.ts'
import { usageError } from '../errors.ts'

export default defineCommand({
  usage: ['relay add URL…', 'relay remove URL…', 'relay list'],
  summary: 'Manage the relays you publish to and read from',
  description: `Relays are kept in <config dir>/config.json. Publishing goes to all of them (a statement
succeeds when --quorum of them accept it, default 1); reading asks all of them, verifies every
answer, and merges them. VOUCH_RELAYS (space or comma separated) overrides the list, and
--relay overrides both for one command.`,
  options: {},
  args: [1, Infinity],
  examples: [
    'vouch relay add https://relay.example.org https://relay.example.net',
    'vouch relay remove https://relay.example.net',
    'vouch relay list --json',
    'VOUCH_RELAYS="http://127.0.0.1:8787" vouch query --subject mylib@1.2.3',
  ],
  async run(ctx, _values, [sub, ...urls]) {
    const config = await readConfig(ctx.paths)
    const parse = (u: string) => {
      try {
        return relayBase(u)
      } catch (e) {
        throw usageError((e as Error).message, 'relay URLs look like https://relay.example.org')
      }
    }
    if (sub === 'list') {
      if (urls.length) throw usageError('`vouch relay list` takes no URL')
      const { list, source } = await ctx.relaySource()
      if (list.length === 0) ctx.out.note('no relays: add one with `vouch relay add URL`')
      else if (source !== 'config') ctx.out.note(`(from ${source === 'env' ? 'VOUCH_RELAYS' : '--relay'}, not the config)`)
      ctx.out.result(list, { relays: list, source })
      return
    }
    if (urls.length === 0) throw usageError(`\`vouch relay ${sub}\` needs at least one URL`)
    const given = urls.map(parse)
    if (sub === 'add') {
      const added = given.filter((u) => !config.relays.includes(u))
      await writeConfig(ctx.paths, { ...config, relays: [...config.relays, ...added] })
      ctx.out.result(added.length ? added.map((u) => `added ${u}`) : 'already there', { added, relays: [...config.relays, ...added] })
      return
    }
    if (sub === 'remove') {
      const missing = given.filter((u) => !config.relays.includes(u))
      if (missing.length) throw usageError(`not in the config: ${missing.join(' ')}`, '`vouch relay list` shows the relays')
      const relays = config.relays.filter((u) => !given.includes(u))
      await writeConfig(ctx.paths, { ...config, relays })
      ctx.out.result(given.map((u) => `removed ${u}`), { removed: given, relays })
      return
    }
    throw usageError(`unknown subcommand ${JSON.stringify(sub)}`, 'use add, remove or list')
  },
})
