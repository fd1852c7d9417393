import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Readiness, type ReadinessIndicator } from '../health/readiness';
import { LogService } from '../log/log.service';

/**
 * Not ready while the access log cannot be written: `POST /push` refuses every request then (nothing can be
 * journaled), so traffic is better sent to other replicas until the writes succeed again.
 */
@Injectable()
@Readiness()
export class JournalHealthIndicator implements ReadinessIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly logs: LogService,
  ) {}

  isReady(key = 'journal'): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const failure = this.logs.accessFailure;
    const details = { write_errors: this.logs.writeErrors.access };
    if (failure) {
      return indicator.down({
        ...details,
        reason: `access log cannot be written: ${failure.code}`,
        since: new Date(failure.since).toISOString(),
      });
    }
    return indicator.up(details);
  }
}
