/** `umbra config check FILE` and `umbra config print`: validate a config, show the effective one. */
import { Command } from '@commander-js/extra-typings';
import { emit, loadConfig } from '../context.js';
import { globalsOf } from '../run.js';
import { redactUrl } from '../../core/redact.js';

export function registerConfig(program: Command): void {
  const config = new Command('config').description('validate and print configuration');
  config
    .command('check')
    .description('validate a config file; lists every problem with its path')
    .argument('<file>', 'config file (JSON)')
    .action((file, _opts, cmd) => {
      const g = globalsOf(cmd);
      loadConfig(g, file);
      emit(g, { ok: true, file }, () => `${file}: valid`);
    });
  config
    .command('print')
    .description('print the effective config with every default applied')
    .option('--file <file>', 'config file to read (default: --config or <data-dir>/config.json)')
    .action((opts, cmd) => {
      const g = globalsOf(cmd);
      const cfg = loadConfig(g, opts.file);
      // Connection URLs are printed without their passwords.
      const shown = { ...cfg, store: { ...cfg.store, ...(cfg.store.url === undefined ? {} : { url: redactUrl(cfg.store.url) }), ...(cfg.store.stream_url === undefined ? {} : { stream_url: redactUrl(cfg.store.stream_url) }) } };
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    });
  program.addCommand(config);
}
