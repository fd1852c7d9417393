import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Logger as AccessLogger } from 'pino';
import { CORE_CONFIG, type CoreConfig } from '../config/pushgate.config';
import { LogService } from '../log/log.service';
import type { NotificationDto } from './push.dto';
import { PushEvents, type SettledPush } from './push.events';
import { maskToken, notificationLogger } from './push.log';
import type { QueuedNotification } from './push.queue';

/** The type of the lines written on acceptance, a binding of their logger (serialised once, not per line). */
const ACCEPTED = { type: 'accepted-push' };

/** A failing access log is reported at most this often. */
const REPORT_EVERY_MS = 60_000;

/**
 * The record of every push in the access log: one `accepted-push` line when it is queued, then one `succeeded-push`
 * or `failed-push` line when it ends (from the settled event). These lines are what `pushgate recover` re-sends
 * from, so the accepted lines are written out before the client hears 200. Tokens are masked here unless
 * `core.log_full_token` is set, and a failing write stays here: it is reported on the error log, never thrown into
 * the accept or settle path.
 */
@Injectable()
export class PushJournal {
  private readonly logger = new Logger(PushJournal.name);
  private readonly access: AccessLogger;
  private readonly fullToken: boolean;
  /**
   * Each notification's child logger for its outcome lines, made when its first push ends (so a notification still
   * waiting in the queue costs no logger) and dropped with the notification.
   */
  private readonly children = new WeakMap<QueuedNotification, AccessLogger>();
  private failures = 0;
  private reportedAt = -Infinity;

  constructor(
    @Inject(CORE_CONFIG) core: CoreConfig,
    private readonly logs: LogService,
    events: PushEvents,
  ) {
    this.access = logs.accessLog;
    this.fullToken = core.log_full_token;
    events.onSettled((event) => this.settled(event));
  }

  /** One `accepted-push` line per push of these notifications, written out at once. */
  accepted(notifications: readonly QueuedNotification[]): void {
    try {
      for (const n of notifications) {
        const log = notificationLogger(this.access, n.dto, ACCEPTED);
        const tokens = n.dto.token;
        for (let i = 0; i < tokens.length; i++) log.info({ id: n.idPrefix + i, token: this.token(tokens[i]) });
      }
    } catch (error) {
      this.failed(error);
    }
    this.writeOut();
  }

  /** The `accepted-push` line of a dead letter queued again as push `id`, written out at once. */
  replayed(letters: readonly { dto: NotificationDto; id: string; replayOf: string }[]): void {
    try {
      for (const { dto, id, replayOf } of letters) {
        notificationLogger(this.access, dto, ACCEPTED).info({ id, token: this.token(dto.token[0]), replay_of: replayOf });
      }
    } catch (error) {
      this.failed(error);
    }
    this.writeOut();
  }

  private settled({ push, id, token, outcome, ptime }: SettledPush): void {
    try {
      const n = push.notification;
      let log = this.children.get(n);
      if (log === undefined) {
        log = notificationLogger(this.access, n.dto);
        this.children.set(n, log);
      }
      if (outcome.ok) log.info({ type: 'succeeded-push', id, token: this.token(token), ptime });
      else log.info({ type: 'failed-push', id, token: this.token(token), ptime, error: outcome.reason });
    } catch (error) {
      this.failed(error);
    }
  }

  private token(token: string): string {
    return this.fullToken ? token : maskToken(token);
  }

  private writeOut(): void {
    try {
      this.logs.writeOut();
    } catch (error) {
      this.failed(error);
    }
  }

  private failed(error: unknown): void {
    this.failures++;
    const now = Date.now();
    if (now - this.reportedAt < REPORT_EVERY_MS) return;
    this.reportedAt = now;
    this.logger.error(`access log write failed (${this.failures} failures so far): ${(error as Error).message}`);
  }
}
