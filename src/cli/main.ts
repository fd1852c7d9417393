#!/usr/bin/env node
import { ConfigError } from '../config/pushgate.config';
import { CommandError, UsageError } from './notification';
import { RECOVER_USAGE, recoverCommand } from './recover.command';
import { SEND_USAGE, sendCommand } from './send.command';

const USAGE = `usage: pushgate [serve] [-c pushgate.toml]   run the gateway (the default)
       pushgate send ...                      send one notification and print each token's outcome
       pushgate recover ...                   re-send the unfinished pushes of access logs
       pushgate help [send|recover]

${SEND_USAGE}

${RECOVER_USAGE}`;

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...args] = argv;
  switch (command) {
    case 'send':
      return sendCommand(args, process.stdout);
    case 'recover':
      return recoverCommand(args, process.stdout, process.stderr);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${args[0] === 'send' ? SEND_USAGE : args[0] === 'recover' ? RECOVER_USAGE : USAGE}\n`);
      return 0;
    default:
      if (command !== undefined && command !== 'serve' && !command.startsWith('-')) {
        throw new UsageError(`unknown command "${command}"`);
      }
      // The server entry reads its own arguments (-c) and keeps the process running until a signal.
      await import('../main.js');
      return undefined;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Provider connections and timers of a one-shot command must not keep the process alive.
    if (code !== undefined) process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    if (error instanceof CommandError || error instanceof ConfigError) {
      process.stderr.write(`pushgate: ${error.message}\n${error instanceof UsageError ? 'Run "pushgate help" for usage.\n' : ''}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`pushgate: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
