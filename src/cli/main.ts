/** The `scrapeds` command line: parses arguments (commander) and runs a command from commands.ts. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from './api-client.js';
import * as commands from './commands.js';
import * as keyCommands from './key-commands.js';

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds');
  return n;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

const waitOptions = (cmd: Command) =>
  cmd
    .option('--wait', 'wait until every task has finished, showing progress on stderr')
    .option('--timeout <seconds>', 'give up waiting after this long (exit code 2); 0: never', seconds, 0)
    .addOption(new Option('--interval <ms>', 'poll interval').argParser(positiveInt).default(500).hideHelp());

const webhookOptions = (cmd: Command) =>
  cmd
    .option('--webhook <url>', 'POST signed events (Standard Webhooks) to this URL')
    .option('--webhook-secret <whsec>', 'the endpoint secret (whsec_…); the service makes one when left out')
    .option('--webhook-events <list>', 'comma-separated events to send (default: all)');

export function buildProgram(run: (code: Promise<number>) => void): Command {
  const program = new Command('scrapeds')
    .description('Build text and image datasets with a scrapeds service: submit URLs or crawl a site, follow progress, stream results, export shards.')
    .addOption(new Option('--api <url>', 'the service').env('SCRAPEDS_API').default('http://localhost:8080'))
    .addOption(new Option('--api-key <key>', 'API key, sent as Authorization: Bearer').env('SCRAPEDS_API_KEY'))
    .option('--json', 'print JSON instead of text')
    .showHelpAfterError();
  const g = () => program.opts<commands.GlobalOptions>();

  waitOptions(webhookOptions(
    program
      .command('submit')
      .description('submit a batch: URLs one per line, or NDJSON objects with "url" (FILE or - for stdin)')
      .argument('<file>', 'a file, or - for stdin')
      .option('--kinds <list>', 'task kinds per URL: text, images or text,images', 'text')
      .option('--refresh', 'fetch anew even what is already stored'),
  )).action((file: string, o: Parameters<typeof commands.submit>[2]) => run(commands.submit(g(), file, o)));

  waitOptions(webhookOptions(
    program
      .command('crawl')
      .description('crawl a site from a start URL (a batch whose URL list grows)')
      .argument('<url>', 'the start URL')
      .option('--max-pages <n>', 'pages at most', positiveInt)
      .option('--max-depth <n>', 'links away from the start URL at most', (v) => (v === '0' ? 0 : positiveInt(v)))
      .option('--include <pattern>', 'only URLs matching: a glob over the whole URL (** any, * within a path segment) or /regex/ (repeatable)', collect)
      .option('--exclude <pattern>', 'skip URLs matching, same syntax (repeatable)', collect)
      .option('--no-sitemaps', 'do not read robots.txt Sitemap: lines and /sitemap.xml')
      .option('--all-sites', 'follow links to other hosts too (default: the start URL\'s host only)')
      .option('--strip-tracking', 'drop utm_*, gclid, fbclid and similar parameters from URLs')
      .option('--kinds <list>', 'task kinds per page: text, images or text,images', 'text'),
  )).action((url: string, o: commands.CrawlOptions) => run(commands.crawl(g(), url, o)));

  waitOptions(program.command('status').description("a batch's counts, rate and ETA").argument('<id>', 'batch id'))
    .action((id: string, o: commands.WaitOptions) => run(commands.status(g(), id, o)));

  program
    .command('results')
    .description("stream a batch's results as NDJSON (one record per finished task)")
    .argument('<id>', 'batch id')
    .option('--cursor <cursor>', "resume after the record with this cursor")
    .action((id: string, o: { cursor?: string }) => run(commands.results(g(), id, o)));

  waitOptions(
    program
      .command('export')
      .description("export a finished batch as dataset shards and download them, checking each shard's sha256")
      .argument('<id>', 'batch id')
      .addOption(new Option('--format <format>', 'shard format').choices(['webdataset', 'parquet', 'jsonl']).default('webdataset'))
      .requiredOption('--out <dir>', 'directory to write the shards and manifest.json to')
      .option('--shard-samples <n>', 'samples per shard at most', positiveInt)
      .option('--include-images', 'parquet: put image bytes in an image column'),
  ).action((id: string, o: commands.ExportCliOptions) => run(commands.exportBatch(g(), id, o)));

  const keys = program.command('keys').description('manage API keys (AUTH=keys; needs an admin key)');
  keys
    .command('create')
    .description('make a key; prints the plain key, which is shown this once')
    .requiredOption('--scopes <list>', 'comma-separated scopes: read, write, admin')
    .requiredOption('--name <name>', 'who or what the key is for')
    .action((o: { scopes: string; name: string }) => run(keyCommands.createKey(g(), o)));
  keys.command('list').description('every key (never the plain keys), revoked ones included').action(() => run(keyCommands.listKeys(g())));
  keys.command('revoke').description('revoke a key at once').argument('<id>', 'key id').action((id: string) => run(keyCommands.revokeKey(g(), id)));

  return program;
}

async function finish(code: Promise<number>): Promise<void> {
  try {
    process.exitCode = await code;
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`scrapeds: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  }
}

await buildProgram((code) => void finish(code)).parseAsync(process.argv);
