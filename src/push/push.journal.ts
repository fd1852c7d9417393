import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import type { Logger as AccessLogger } from 'pino';
import { CORE_CONFIG, type CoreConfig } from '../config/pushgate.config';
import { LogService, type JournalEntry } from '../log/log.service';
import type { NotificationDto } from '../notification/notification.dto';
import { PushEvents, type SettledPush } from './push.events';
import { gaurunPushLine, gaurunRequestLine } from './push.gaurun-log';
import { maskToken, notificationFields, notificationLogger } from './push.log';
import type { QueuedNotification } from './push.queue';

/** The type of the lines written on acceptance, a binding of their logger (serialised once, not per line). */
const ACCEPTED = { type: 'accepted-push' };
const DISABLED = { type: 'disabled-push' };

/** A notification to a disabled platform: skipped, never queued, and its pushes numbered from `idPrefix`. */
export interface DisabledNotification {
  readonly dto: NotificationDto;
  readonly idPrefix: string;
  readonly requestId?: string;
}

/** Seconds a client should wait before retrying a request refused because the access log cannot be written. */
export const JOURNAL_RETRY_AFTER = 1;

/** The `accepted-push` lines of a request could not be written: nothing of it was queued. */
export class JournalUnavailableException extends ServiceUnavailableException {
  readonly retryAfterSeconds = JOURNAL_RETRY_AFTER;
}

/**
 * The record of every push in the access log: one `accepted-push` line before it is queued, then one
 * `succeeded-push` or `failed-push` line when it ends (from the settled event). These lines are what
 * `pushgate recover` re-sends from, so the accepted lines are in the kernel's hands before the pushes are offered to
 * the queue, and a request whose lines cannot be written is refused ({@link JournalUnavailableException}). An outcome
 * line that cannot be written is counted by {@link LogService}, never thrown into the settle path. Tokens are masked
 * here unless `core.log_full_token` is set.
 *
 * With `log.format = "gaurun"` the lines take Gaurun's shape, with Gaurun's numeric ids (from 1 on each start), and
 * failed pushes are also written to the error log at level `error`, as Gaurun did.
 */
@Injectable()
export class PushJournal {
  private readonly logger = new Logger(PushJournal.name);
  private readonly access: AccessLogger;
  private readonly fullToken: boolean;
  private readonly gaurun: boolean;
  /**
   * Each notification's child logger for its outcome lines, made when its first push ends (so a notification still
   * waiting in the queue costs no logger) and dropped with the notification.
   */
  private readonly children = new WeakMap<QueuedNotification, AccessLogger>();
  /** Gaurun format: the number before each notification's first push id. */
  private readonly numbers = new WeakMap<QueuedNotification, number>();
  private numbered = 0;

  constructor(
    @Inject(CORE_CONFIG) core: CoreConfig,
    private readonly logs: LogService,
    events: PushEvents,
  ) {
    this.access = logs.accessLog;
    this.fullToken = core.log_full_token;
    this.gaurun = logs.format === 'gaurun';
    events.onSettled((event) => this.settled(event));
  }

  /**
   * One `accepted-push` line per push of these notifications, handed to the kernel before this returns; throws
   * {@link JournalUnavailableException} when they could not be (and then none of them stays in a log file).
   */
  accepted(notifications: readonly QueuedNotification[]): JournalEntry {
    let entry: JournalEntry | undefined;
    try {
      entry = this.logs.journal(() => {
        for (const n of notifications) {
          if (this.gaurun) this.gaurunAccepted(n);
          else this.acceptedLines(n);
        }
      });
    } catch (error) {
      this.logger.error(`accepted-push lines not written: ${(error as Error).message}`);
    }
    if (entry === undefined) {
      const failure = this.logs.accessFailure;
      throw new JournalUnavailableException({
        message: `access log cannot be written${failure ? ` (${failure.code})` : ''}; nothing was queued, retry later`,
      });
    }
    return entry;
  }

  /** Takes back the `accepted-push` lines of pushes the queue then refused, where nothing followed them yet. */
  withdraw(entry: JournalEntry): void {
    this.logs.withdraw(entry);
  }

  /** Gaurun's `accepted-request` line (Gaurun format only): one per `POST /push`, before its pushes' lines. */
  request(request: { uri: string; method: string; proto: string; contentLength: number }): void {
    if (this.gaurun) this.logs.accessLine(gaurunRequestLine(request));
  }

  /** One `disabled-push` line per push of these notifications (their platform is disabled), as Gaurun wrote them. */
  disabled(notifications: readonly DisabledNotification[]): void {
    try {
      for (const n of notifications) {
        const tokens = n.dto.token;
        if (this.gaurun) {
          for (const token of tokens) {
            this.logs.accessLine(gaurunPushLine('info', n.dto, ++this.numbered, this.token(token), 'disabled-push', 0, ''));
          }
          continue;
        }
        const log = notificationLogger(this.access, n.dto, n.requestId === undefined ? DISABLED : { ...DISABLED, request_id: n.requestId });
        for (let i = 0; i < tokens.length; i++) log.info({ id: n.idPrefix + i, token: this.token(tokens[i]) });
      }
    } catch (error) {
      this.logger.error(`disabled-push lines not written: ${(error as Error).message}`);
    }
  }

  /** The `accepted-push` line of a dead letter queued again as push `id`, written out at once. */
  replayed(letters: readonly { dto: NotificationDto; id: string; replayOf: string }[]): void {
    try {
      for (const { dto, id, replayOf } of letters) {
        if (this.gaurun)
          this.logs.accessLine(gaurunPushLine('info', dto, ++this.numbered, this.token(dto.token[0]), 'accepted-push', 0, ''));
        else notificationLogger(this.access, dto, ACCEPTED).info({ id, token: this.token(dto.token[0]), replay_of: replayOf });
      }
    } catch (error) {
      this.logger.error(`accepted-push lines of replayed dead letters not written: ${(error as Error).message}`);
    }
    this.logs.writeOut();
  }

  private settled(event: SettledPush): void {
    try {
      if (this.gaurun) return this.gaurunSettled(event);
      const { push, id, token, outcome, ptime } = event;
      const n = push.notification;
      if (n.dto.token.length === 1) {
        // The one line this notification will have, from one object: a child logger costs more than the line.
        const fields = notificationFields(n.dto, n.requestId === undefined ? undefined : { request_id: n.requestId });
        fields.type = outcome.ok ? 'succeeded-push' : 'failed-push';
        fields.id = id;
        fields.token = this.token(token);
        fields.ptime = ptime;
        if (!outcome.ok) fields.error = outcome.reason;
        this.access.info(fields);
        return;
      }
      let log = this.children.get(n);
      if (log === undefined) {
        log = notificationLogger(this.access, n.dto, n.requestId === undefined ? undefined : { request_id: n.requestId });
        this.children.set(n, log);
      }
      if (outcome.ok) log.info({ type: 'succeeded-push', id, token: this.token(token), ptime });
      else log.info({ type: 'failed-push', id, token: this.token(token), ptime, error: outcome.reason });
    } catch (error) {
      this.logger.error(`outcome line not written: ${(error as Error).message}`);
    }
  }

  private acceptedLines(n: QueuedNotification): void {
    const last = n.requestId === undefined ? ACCEPTED : { ...ACCEPTED, request_id: n.requestId };
    const tokens = n.dto.token;
    if (tokens.length === 1) {
      // The same line, from one object: a child logger costs more than the one line it would serve.
      const fields = notificationFields(n.dto, last);
      fields.id = `${n.idPrefix}0`;
      fields.token = this.token(tokens[0]);
      this.access.info(fields);
      return;
    }
    const log = notificationLogger(this.access, n.dto, last);
    for (let i = 0; i < tokens.length; i++) log.info({ id: n.idPrefix + i, token: this.token(tokens[i]) });
  }

  private gaurunAccepted(n: QueuedNotification): void {
    const first = this.number(n);
    const tokens = n.dto.token;
    for (let i = 0; i < tokens.length; i++) {
      this.logs.accessLine(gaurunPushLine('info', n.dto, first + i, this.token(tokens[i]), 'accepted-push', 0, ''));
    }
  }

  private gaurunSettled({ push, token, outcome, ptime }: SettledPush): void {
    const n = push.notification;
    const id = this.number(n) + push.index;
    if (outcome.ok) {
      this.logs.accessLine(gaurunPushLine('info', n.dto, id, this.token(token), 'succeeded-push', ptime, ''));
      return;
    }
    const line = gaurunPushLine('error', n.dto, id, this.token(token), 'failed-push', ptime, outcome.reason);
    this.logs.accessLine(line);
    this.logs.errorLine(line);
  }

  /** Gaurun's id of a notification's first push; a notification this process did not accept is numbered on sight. */
  private number(n: QueuedNotification): number {
    let first = this.numbers.get(n);
    if (first === undefined) {
      first = this.numbered + 1;
      this.numbered += n.dto.token.length;
      this.numbers.set(n, first);
    }
    return first;
  }

  private token(token: string): string {
    return this.fullToken ? token : maskToken(token);
  }
}
