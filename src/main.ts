import { rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { APP_OPTIONS, setupApp } from './app.setup';
import { ConfigError, pushgateConfig, type PushgateConfig } from './config/pushgate.config';
import { applyServerTimeouts } from './http/server-timeouts';
import { LogService } from './log/log.service';
import { ReloadService } from './reload/reload.service';

async function bootstrap(): Promise<void> {
  const app = setupApp(await NestFactory.create(AppModule.forRoot(), APP_OPTIONS));
  const config = app.get<PushgateConfig>(pushgateConfig.KEY);
  const logger = new Logger('Main');
  if (config.unknown_keys.length > 0) logger.warn(`ignored unknown configuration keys: ${config.unknown_keys.join(', ')}`);
  const { port, pid } = config.core;
  applyServerTimeouts(app.getHttpServer() as Server, config.core);
  if (port.startsWith('unix:')) {
    const path = port.slice('unix:'.length);
    rmSync(path, { force: true });
    await app.listen(path);
  } else {
    await app.listen(Number(port));
  }
  if (pid) writeFileSync(pid, `${process.pid}\n`);
  logger.log(`pushgate listening on ${port} (node ${process.version})`);

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.log(`${signal}: shutting down`);
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
  process.on('SIGHUP', () => {
    app.get(LogService).reopen();
    logger.log('SIGHUP: log files reopened, reloading the configuration');
    try {
      app.get(ReloadService).reload();
    } catch (error) {
      // ReloadService has logged the refusal with every problem; the current clients stay in use.
      if (!(error instanceof ConfigError)) logger.error(`reload failed: ${(error as Error).stack ?? String(error)}`);
    }
  });
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error));
  process.stderr.write(`pushgate: ${message}\n`);
  process.exit(1);
});
