import { DiscoveryService } from '@nestjs/core';
import type { HealthIndicatorResult } from '@nestjs/terminus';

/** What a module contributes to readiness: one check, under its own key. */
export interface ReadinessIndicator {
  isReady(): HealthIndicatorResult | Promise<HealthIndicatorResult>;
}

/**
 * Marks a provider as a {@link ReadinessIndicator}: `GET /health/ready` composes every marked provider of the
 * application, so a module contributes its check by declaring it, and one that is not composed contributes none.
 */
export const Readiness = DiscoveryService.createDecorator<void>();
