import { rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { AppModule } from './app.module';
import { APP_OPTIONS, setupApp } from './app.setup';
import { UsageError } from './cli/notification';
import { flagEnvironment, parseServeArgs, SERVE_USAGE } from './cli/serve.args';
import { removeStaleSocket, socketPath, startProblems } from './cli/start.checks';
import { VERSION, versionText } from './version';
import { bootConfigSource, ConfigError, loadConfig, type PushgateConfig } from './config/pushgate.config';
import { applyServerTimeouts } from './http/server-timeouts';
import { LogService } from './log/log.service';
import { ReloadService } from './reload/reload.service';
import { deliveryMode } from './provider/provider.settings';

/** Seconds allowed past `core.shutdown_delay` + `core.shutdown_timeout` for closing the server and the clients. */
const SHUTDOWN_MARGIN_SECONDS = 5;

/**
 * A configuration the gateway cannot start with, as one JSON line in the error log's format on stderr (where Gaurun
 * reported it, and where a service manager looks): the configured error log may be what is wrong.
 */
function reportConfigError(error: ConfigError): void {
  const log = pino(
    { base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label: string) => ({ level: label }) } },
    pino.destination({ dest: 2, sync: true }),
  );
  log.error({ context: 'Main', problems: error.problems }, 'invalid configuration');
}

/**
 * Runs the gateway with Gaurun's command line (`-c`, `-p`, `-w`, `-q`, `-v`). Resolves with an exit status when
 * there is nothing to run (version, help, a configuration it cannot start with), or once it listens.
 */
export async function serve(argv: string[]): Promise<number | undefined> {
  const args = parseServeArgs(argv);
  if (args.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  if (args.version) {
    process.stdout.write(versionText());
    return 0;
  }
  Object.assign(process.env, flagEnvironment(args));
  // Checked before Nest builds anything, so that a bad configuration is reported once and nothing binds.
  let bootConfig: PushgateConfig;
  try {
    bootConfig = loadConfig(bootConfigSource());
    const problems = startProblems(bootConfig);
    if (problems.length > 0) throw new ConfigError(problems);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportConfigError(error);
    return 1;
  }

  // Until the gateway listens, a SIGHUP (logrotate, a reload that meets a restart) is kept for then: Node's default for
  // it would end the process.
  let hupWhileStarting = false;
  const holdHup = (): void => {
    hupWhileStarting = true;
  };
  process.on('SIGHUP', holdHup);

  const app = setupApp(await NestFactory.create(AppModule.forRoot(bootConfig), APP_OPTIONS));
  const logger = new Logger('Main');
  if (bootConfig.unknown_keys.length > 0) logger.warn(`ignored unknown configuration keys: ${bootConfig.unknown_keys.join(', ')}`);
  const { port, pid } = bootConfig.core;
  applyServerTimeouts(app.getHttpServer() as Server, bootConfig.core);
  const path = socketPath(port);
  if (path !== undefined) {
    removeStaleSocket(path);
    await app.listen(path);
  } else {
    await app.listen(Number(port));
  }
  if (pid) writeFileSync(pid, `${process.pid}\n`);
  logger.log(`pushgate ${VERSION} listening on ${port} (${deliveryMode(bootConfig)} mode, node ${process.version})`);

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.log(`${signal}: shutting down`);
    // The drain has its budget; whatever else hangs (a log on a failing disk, a client that does not close) must not
    // keep the process past it.
    const budgetMs = (bootConfig.core.shutdown_delay + bootConfig.core.shutdown_timeout + SHUTDOWN_MARGIN_SECONDS) * 1000;
    setTimeout(() => {
      logger.error(`${signal}: shutdown did not finish within ${budgetMs / 1000} s; exiting`);
      process.exit(1);
    }, budgetMs).unref();
    app
      .close()
      .then(() => {
        if (pid) rmSync(pid, { force: true });
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error(`shutdown failed: ${(error as Error).stack ?? String(error)}`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  const hup = (): void => {
    // A file that cannot be reopened is reported by LogService and stays open where it was.
    app.get(LogService).reopen();
    logger.log('SIGHUP: log files reopened, reloading the configuration');
    try {
      app.get(ReloadService).reload();
    } catch (error) {
      // ReloadService has logged the refusal with every problem; the current clients stay in use.
      if (!(error instanceof ConfigError)) logger.error(`reload failed: ${(error as Error).stack ?? String(error)}`);
    }
  };
  process.on('SIGHUP', hup);
  process.off('SIGHUP', holdHup);
  if (hupWhileStarting) hup();
  return undefined;
}

/** Runs the gateway and ends the process as the outcome says: 2 for a usage error, 1 for a failure. */
export function runGateway(argv: string[]): void {
  serve(argv).then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`pushgate: ${error.message}\n${SERVE_USAGE.split('\n')[0]}\nRun "pushgate help serve" for more.\n`);
        process.exitCode = 2;
        return;
      }
      if (error instanceof ConfigError) reportConfigError(error);
      else process.stderr.write(`pushgate: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) runGateway(process.argv.slice(2));
