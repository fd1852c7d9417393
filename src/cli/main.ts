#!/usr/bin/env -S node --max-semi-space-size=4
import { ConfigError } from '../config/pushgate.config';
import { CHECK_CONFIG_USAGE, checkConfigCommand } from './check-config.command';
import { IMPORT_CONFIG_USAGE, importConfigCommand } from './import-config.command';
import { CommandError, UsageError } from './notification';
import { RECOVER_USAGE, recoverCommand } from './recover.command';
import { SEND_USAGE, sendCommand } from './send.command';
import { SERVE_USAGE } from './serve.args';

const USAGES: Record<string, string> = {
  serve: SERVE_USAGE,
  send: SEND_USAGE,
  recover: RECOVER_USAGE,
  'check-config': CHECK_CONFIG_USAGE,
  'import-config': IMPORT_CONFIG_USAGE,
};

const USAGE = `usage: pushgate [serve] [-c FILE] [-p PORT] [-w N] [-q N]   run the gateway (the default)
       pushgate send ...                                    send one notification and print each token's outcome
       pushgate recover ...                                 re-send the unfinished pushes of pushgate's or Gaurun's access logs
       pushgate check-config [-c FILE]                      check a configuration and print it, secrets redacted
       pushgate import-config --from gorush|gaurun FILE     print the pushgate configuration equivalent to Gorush's or Gaurun's
       pushgate -v | --version                              print the version
       pushgate help [COMMAND] | pushgate COMMAND --help    print the usage

${Object.values(USAGES).join('\n\n')}`;

/** The arguments ask for help: `-h` or `--help` anywhere before a `--`. */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** The command the arguments name; the gateway itself when they start with a flag or name none. */
function commandOf(argv: string[]): { command: string; args: string[] } {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-')) return { command: 'serve', args: argv };
  return { command: first, args: rest };
}

async function main(command: string, args: string[]): Promise<number | undefined> {
  if (command in USAGES && asksForHelp(args)) {
    process.stdout.write(`${USAGES[command]}\n`);
    return 0;
  }
  switch (command) {
    case 'send':
      return sendCommand(args, process.stdout);
    case 'recover':
      return recoverCommand(args, process.stdout, process.stderr);
    case 'check-config':
      return checkConfigCommand(args, process.stdout, process.stderr);
    case 'import-config':
      return importConfigCommand(args, process.stdout, process.stderr);
    case 'help':
      if (args[0] !== undefined && !(args[0] in USAGES)) throw new UsageError(`unknown command "${args[0]}"`);
      process.stdout.write(`${args[0] === undefined ? USAGE : USAGES[args[0]]}\n`);
      return 0;
    case 'serve': {
      // Loaded only to run the gateway: the commands above do not need the whole application.
      const { runGateway } = await import('../main.js');
      runGateway(args);
      return undefined;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const { command, args } = commandOf(process.argv.slice(2));
main(command, args).then(
  (code) => {
    // Provider connections and timers of a one-shot command must not keep the process alive.
    if (code !== undefined) process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    if (error instanceof CommandError || error instanceof ConfigError) {
      const usage = error instanceof UsageError ? `${(USAGES[command] ?? USAGE).split('\n')[0]}\n` : '';
      const more = error instanceof UsageError ? `Run "pushgate help${command in USAGES ? ` ${command}` : ''}" for more.\n` : '';
      process.stderr.write(`pushgate: ${error.message}\n${usage}${more}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`pushgate: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
