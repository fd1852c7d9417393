import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { gaurunTime, unfinishedPushes } from '../cli/recover.command';
import { loadConfig, PushgateConfigModule } from '../config/pushgate.config';
import { LogService } from '../log/log.service';
import type { NotificationDto } from '../notification/notification.dto';
import { PushEvents } from './push.events';
import { payloadPreparer } from '../../test/support/preparer';
import { JournalUnavailableException, PushJournal } from './push.journal';
import type { PushOutcome, QueuedNotification } from './push.queue';

const TOKEN = '0123456789abcdef0123456789abcdef';

function notification(dto: Partial<NotificationDto>, idPrefix: string): QueuedNotification {
  return payloadPreparer().prepare({ token: [TOKEN], platform: 1, message: 'hello', ...dto }, idPrefix, 0);
}

function settle(events: PushEvents, n: QueuedNotification, index: number, outcome: PushOutcome, ptime = 0.012): void {
  const push = { notification: n, index, attempt: 0 };
  events.emitSettled({ push, id: n.idPrefix + index, platform: n.platform, token: n.dto.token[index], outcome, ptime });
}

/** The journal and what it writes through, configured by environment keys (the error log discarded unless named). */
async function journalModule(env: Record<string, string>) {
  const config = loadConfig({ env: { PUSHGATE_LOG_ERROR_LOG: 'discard', ...env } });
  const moduleRef = await Test.createTestingModule({
    imports: [PushgateConfigModule.forRoot(config)],
    providers: [PushJournal, PushEvents, LogService],
  }).compile();
  return { moduleRef, journal: moduleRef.get(PushJournal), events: moduleRef.get(PushEvents), logs: moduleRef.get(LogService) };
}

/** The journal over the gateway's own access log, written to a file, with the configuration given as environment. */
async function setup(env: Record<string, string> = {}) {
  const accessLog = join(mkdtempSync(join(tmpdir(), 'pushgate-journal-')), 'access.log');
  const { journal, events, logs } = await journalModule({ PUSHGATE_LOG_ACCESS_LOG: accessLog, ...env });
  /** The lines written so far, their time taken out. */
  const lines = (): string[] => {
    logs.flush();
    return readFileSync(accessLog, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/"time":"[^"]+"/, '"time":"T"'));
  };
  return { journal, events, lines };
}

describe('PushJournal', () => {
  it("writes a one-token notification's accepted line as it writes each line of a notification of several", async () => {
    const { journal, lines } = await setup();
    const fields = { message: 'hello', title: 'T', badge: 3, sound: 'default', extend: [{ key: 'k', value: 'v' }] };
    const one = notification(fields, 'o-');
    const several = payloadPreparer().prepare({ token: [TOKEN, TOKEN], platform: 1, ...fields }, 's-', 0);
    journal.accepted([
      { ...one, requestId: 'req-1' },
      { ...several, requestId: 'req-1' },
    ]);
    const [single, first] = lines();
    expect(single).toBe(first.replace('"id":"s-0"', '"id":"o-0"'));
    expect(single).toContain('"type":"accepted-push","request_id":"req-1","id":"o-0"');
  });

  it("writes a one-token notification's outcome lines as it writes those of a notification of several", async () => {
    const { journal, events, lines } = await setup();
    const fields = { message: 'hello', title: 'T', badge: 3, extend: [{ key: 'k', value: 'v' }] };
    const one = { ...notification(fields, 'o-'), requestId: 'req-2' };
    const several = { ...payloadPreparer().prepare({ token: [TOKEN, TOKEN], platform: 1, ...fields }, 's-', 0), requestId: 'req-2' };
    journal.accepted([one, several]);
    settle(events, one, 0, { ok: true });
    settle(events, several, 0, { ok: true });
    settle(events, one, 0, { ok: false, reason: 'Unregistered' });
    settle(events, several, 1, { ok: false, reason: 'Unregistered' });
    const [, , , succeededOne, succeededSeveral, failedOne, failedSeveral] = lines();
    expect(succeededOne).toBe(succeededSeveral.replace('"id":"s-0"', '"id":"o-0"'));
    expect(succeededOne).toContain('"request_id":"req-2","type":"succeeded-push","id":"o-0"');
    expect(failedOne).toBe(failedSeveral.replace('"id":"s-1"', '"id":"o-0"'));
    expect(failedOne).toContain('"error":"Unregistered"');
  });

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

  it("puts the request's id in the accepted, succeeded and failed lines of its pushes", async () => {
    const { journal, events, lines } = await setup();
    const n = payloadPreparer().prepare({ token: [TOKEN, 'short'], platform: 2, message: 'hello' }, 'q-', 0, 'client-id-7');
    journal.accepted([n]);
    settle(events, n, 0, { ok: true });
    settle(events, n, 1, { ok: false, reason: 'UNREGISTERED' });
    expect(lines()).toEqual([
      '{"level":"info","time":"T","platform":"android","message":"hello","type":"accepted-push","request_id":"client-id-7","id":"q-0","token":"01234567...cdef"}',
      '{"level":"info","time":"T","platform":"android","message":"hello","type":"accepted-push","request_id":"client-id-7","id":"q-1","token":"*****"}',
      '{"level":"info","time":"T","platform":"android","message":"hello","request_id":"client-id-7","type":"succeeded-push","id":"q-0","token":"01234567...cdef","ptime":0.012}',
      '{"level":"info","time":"T","platform":"android","message":"hello","request_id":"client-id-7","type":"failed-push","id":"q-1","token":"*****","ptime":0.012,"error":"UNREGISTERED"}',
    ]);
  });

  it('writes a replayed dead letter as accepted, with the push it replays', async () => {
    const { journal, lines } = await setup();
    journal.replayed([{ dto: { token: [TOKEN], platform: 1, message: 'hello' }, id: 'x-0-3-r0', replayOf: 'x-0-3' }]);
    expect(lines()).toEqual([
      '{"level":"info","time":"T","platform":"ios","message":"hello","type":"accepted-push","id":"x-0-3-r0","token":"01234567...cdef","replay_of":"x-0-3"}',
    ]);
  });

  it("writes a disabled platform's skipped pushes as Gaurun's disabled-push lines, tokens masked", async () => {
    const { journal, lines } = await setup();
    journal.disabled([{ dto: { token: [TOKEN, 'short'], platform: 1, message: 'hello', identifier: 'c-7' }, idPrefix: 'd-0-' }]);
    expect(lines()).toEqual([
      '{"level":"info","time":"T","platform":"ios","message":"hello","identifier":"c-7","type":"disabled-push","id":"d-0-0","token":"01234567...cdef"}',
      '{"level":"info","time":"T","platform":"ios","message":"hello","identifier":"c-7","type":"disabled-push","id":"d-0-1","token":"*****"}',
    ]);
  });

  it('writes the request id on disabled-push lines, as on the other push lines', async () => {
    const { journal, lines } = await setup();
    journal.disabled([{ dto: { token: [TOKEN], platform: 1, message: 'hello' }, idPrefix: 'd-1-', requestId: 'req-9' }]);
    expect(lines()).toEqual([
      '{"level":"info","time":"T","platform":"ios","message":"hello","type":"disabled-push","request_id":"req-9","id":"d-1-0","token":"01234567...cdef"}',
    ]);
  });

  it('logs whole tokens when core.log_full_token is set', async () => {
    const { journal, events, lines } = await setup({ PUSHGATE_CORE_LOG_FULL_TOKEN: 'true' });
    const n = notification({}, 'f-');
    journal.accepted([n]);
    settle(events, n, 0, { ok: true });
    expect(lines().map((l) => (JSON.parse(l) as { token: string }).token)).toEqual([TOKEN, TOKEN]);
  });

  it('refuses acceptance when its lines cannot be written (a full disk), and keeps other failures to itself', async () => {
    // Linux's /dev/full fails every write with ENOSPC, as a full disk does.
    const { moduleRef, journal, events, logs } = await journalModule({ PUSHGATE_LOG_ACCESS_LOG: '/dev/full' });
    moduleRef.useLogger(false);
    const seen: string[] = [];
    events.onSettled((e) => seen.push(e.id));
    const n = notification({}, 'e-');
    expect(() => journal.accepted([n])).toThrow(JournalUnavailableException);
    expect(logs.accessFailure?.code).toBe('ENOSPC');
    expect(() => journal.replayed([{ dto: n.dto, id: 'e-0-r0', replayOf: 'e-0' }])).not.toThrow();
    expect(() => settle(events, n, 0, { ok: true })).not.toThrow();
    expect(() => logs.flush()).not.toThrow();
    expect(() => logs.onApplicationShutdown()).not.toThrow();
    expect(seen).toEqual(['e-0']);
    expect(logs.writeErrors.access).toBe(3);
  });

  describe('log.format = "gaurun"', () => {
    /** Go's `time.Parse("2006/01/02 15:04:05 MST", s)` accepts exactly this shape. */
    const GO_LAYOUT = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} [A-Z]{3,5}$|^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} [+-]\d{2,4}$/;

    it("writes Gaurun's zap lines: numeric ids from 1, Go's time layout, error empty on success, failures on the error log too", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pushgate-journal-'));
      const accessLog = join(dir, 'access.log');
      const errorLog = join(dir, 'error.log');
      const { journal, events, logs } = await journalModule({
        PUSHGATE_LOG_ACCESS_LOG: accessLog,
        PUSHGATE_LOG_ERROR_LOG: errorLog,
        PUSHGATE_LOG_FORMAT: 'gaurun',
      });
      const ios = notification({ token: [TOKEN, 'short'], badge: 3, sound: 'default' }, 'p-0-');
      const android = notification({ platform: 2, collapse_key: 'k', message: 'hi' }, 'p-1-');
      journal.request({ uri: '/push', method: 'POST', proto: 'HTTP/1.1', contentLength: 120 });
      journal.accepted([ios, android]);
      settle(events, ios, 1, { ok: false, reason: 'BadDeviceToken' }, 0.01234);
      settle(events, android, 0, { ok: true }, 0.004);
      logs.flush();
      const parse = (file: string) =>
        readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      const access = parse(accessLog);
      for (const line of access) {
        expect(String(line.time)).toMatch(GO_LAYOUT);
        expect(Math.abs(gaurunTime(String(line.time))! - Date.now())).toBeLessThan(60_000);
      }
      const strip = (line: Record<string, unknown>) => Object.entries(line).filter(([key]) => key !== 'time');
      expect(access.map(strip)).toEqual(
        [
          { level: 'info', message: '', type: 'accepted-request', uri: '/push', method: 'POST', proto: 'HTTP/1.1', content_length: 120 },
          {
            level: 'info',
            message: 'hello',
            id: 1,
            platform: 'ios',
            token: '01234567...cdef',
            type: 'accepted-push',
            ptime: 0,
            error: '',
            badge: 3,
            sound: 'default',
          },
          {
            level: 'info',
            message: 'hello',
            id: 2,
            platform: 'ios',
            token: '*****',
            type: 'accepted-push',
            ptime: 0,
            error: '',
            badge: 3,
            sound: 'default',
          },
          {
            level: 'info',
            message: 'hi',
            id: 3,
            platform: 'android',
            token: '01234567...cdef',
            type: 'accepted-push',
            ptime: 0,
            error: '',
            collapse_key: 'k',
          },
          {
            level: 'error',
            message: 'hello',
            id: 2,
            platform: 'ios',
            token: '*****',
            type: 'failed-push',
            ptime: 0.012,
            error: 'BadDeviceToken',
            badge: 3,
            sound: 'default',
          },
          {
            level: 'info',
            message: 'hi',
            id: 3,
            platform: 'android',
            token: '01234567...cdef',
            type: 'succeeded-push',
            ptime: 0.004,
            error: '',
            collapse_key: 'k',
          },
        ].map((line) => Object.entries(line)),
      );
      const failed = parse(errorLog).filter((l) => l.type === 'failed-push');
      expect(failed).toEqual([access[4]]);
      // What `pushgate recover` reads from a Gaurun log: push 1 never ended.
      const unfinished = await unfinishedPushes([accessLog]);
      expect(unfinished.map((p) => [p.id, p.token])).toEqual([[1, '01234567...cdef']]);
    });
  });
});
