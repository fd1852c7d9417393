import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import pino from 'pino';
import { loadConfig, PushgateConfigModule } from '../config/pushgate.config';
import { LogService } from '../log/log.service';
import type { NotificationDto } from './push.dto';
import { PushEvents } from './push.events';
import { payloadPreparer } from '../../test/support/preparer';
import { PushJournal } from './push.journal';
import type { PushOutcome, QueuedNotification } from './push.queue';

const TOKEN = '0123456789abcdef0123456789abcdef';

function notification(dto: Partial<NotificationDto>, idPrefix: string): QueuedNotification {
  return payloadPreparer().prepare({ token: [TOKEN], platform: 1, message: 'hello', ...dto }, idPrefix, 0);
}

function settle(events: PushEvents, n: QueuedNotification, index: number, outcome: PushOutcome, ptime = 0.012): void {
  const push = { notification: n, index, attempt: 0 };
  events.emitSettled({ push, id: n.idPrefix + index, platform: n.platform, token: n.dto.token[index], outcome, ptime });
}

/** The journal over the gateway's own access log, written to a file, with the configuration given as environment. */
async function setup(env: Record<string, string> = {}) {
  const accessLog = join(mkdtempSync(join(tmpdir(), 'pushgate-journal-')), 'access.log');
  const config = loadConfig({ env: { PUSHGATE_LOG_ACCESS_LOG: accessLog, PUSHGATE_LOG_ERROR_LOG: 'discard', ...env } });
  const moduleRef = await Test.createTestingModule({
    imports: [PushgateConfigModule.forRoot(config)],
    providers: [PushJournal, PushEvents, LogService],
  }).compile();
  const logs = moduleRef.get(LogService);
  /** The lines written so far, their time taken out. */
  const lines = (): string[] => {
    logs.flush();
    return readFileSync(accessLog, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/"time":"[^"]+"/, '"time":"T"'));
  };
  return { journal: moduleRef.get(PushJournal), events: moduleRef.get(PushEvents), lines };
}

describe('PushJournal', () => {
  it('writes the accepted, succeeded and failed lines field for field as Gaurun did, tokens masked', async () => {
    const { journal, events, lines } = await setup();
    const ios = notification({ token: [TOKEN, 'short'], badge: 3, sound: 'default' }, 'p-0-');
    const android = notification({ platform: 2, app: 'default', collapse_key: 'k' }, 'p-1-');
    journal.accepted([ios, android]);
    settle(events, ios, 1, { ok: false, reason: 'BadDeviceToken' });
    settle(events, ios, 0, { ok: true });
    settle(events, android, 0, { ok: true }, 0.004);
    expect(lines()).toEqual([
      '{"level":"info","time":"T","platform":"ios","message":"hello","badge":3,"sound":"default","type":"accepted-push","id":"p-0-0","token":"01234567...cdef"}',
      '{"level":"info","time":"T","platform":"ios","message":"hello","badge":3,"sound":"default","type":"accepted-push","id":"p-0-1","token":"*****"}',
      '{"level":"info","time":"T","platform":"android","app":"default","message":"hello","collapse_key":"k","type":"accepted-push","id":"p-1-0","token":"01234567...cdef"}',
      '{"level":"info","time":"T","platform":"ios","message":"hello","badge":3,"sound":"default","type":"failed-push","id":"p-0-1","token":"*****","ptime":0.012,"error":"BadDeviceToken"}',
      '{"level":"info","time":"T","platform":"ios","message":"hello","badge":3,"sound":"default","type":"succeeded-push","id":"p-0-0","token":"01234567...cdef","ptime":0.012}',
      '{"level":"info","time":"T","platform":"android","app":"default","message":"hello","collapse_key":"k","type":"succeeded-push","id":"p-1-0","token":"01234567...cdef","ptime":0.004}',
    ]);
  });

  it('writes a replayed dead letter as accepted, with the push it replays', async () => {
    const { journal, lines } = await setup();
    journal.replayed([{ dto: { token: [TOKEN], platform: 1, message: 'hello' }, id: 'x-0-3-r0', replayOf: 'x-0-3' }]);
    expect(lines()).toEqual([
      '{"level":"info","time":"T","platform":"ios","message":"hello","type":"accepted-push","id":"x-0-3-r0","token":"01234567...cdef","replay_of":"x-0-3"}',
    ]);
  });

  it('logs whole tokens when core.log_full_token is set', async () => {
    const { journal, events, lines } = await setup({ PUSHGATE_CORE_LOG_FULL_TOKEN: 'true' });
    const n = notification({}, 'f-');
    journal.accepted([n]);
    settle(events, n, 0, { ok: true });
    expect(lines().map((l) => (JSON.parse(l) as { token: string }).token)).toEqual([TOKEN, TOKEN]);
  });

  it('keeps a failing access log to itself: acceptance and the other records of an outcome go on', async () => {
    const failing = pino(
      { base: null },
      {
        write: () => {
          throw new Error('EIO: i/o error, write');
        },
      },
    );
    const config = loadConfig({ env: { PUSHGATE_LOG_ERROR_LOG: 'discard' } });
    const moduleRef = await Test.createTestingModule({
      imports: [PushgateConfigModule.forRoot(config)],
      providers: [
        PushJournal,
        PushEvents,
        { provide: LogService, useValue: { accessLog: failing, writeOut: () => failing.info('flush') } },
      ],
    }).compile();
    moduleRef.useLogger(false);
    const journal = moduleRef.get(PushJournal);
    const events = moduleRef.get(PushEvents);
    const seen: string[] = [];
    events.onSettled((e) => seen.push(e.id));
    const n = notification({}, 'e-');
    expect(() => journal.accepted([n])).not.toThrow();
    expect(() => journal.replayed([{ dto: n.dto, id: 'e-0-r0', replayOf: 'e-0' }])).not.toThrow();
    expect(() => settle(events, n, 0, { ok: true })).not.toThrow();
    expect(seen).toEqual(['e-0']);
  });
});
