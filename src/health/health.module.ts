import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';

/** Liveness, and readiness composed from the indicators the application's modules contribute. */
@Module({
  imports: [DiscoveryModule, TerminusModule.forRoot({ errorLogStyle: 'json', logger: false })],
  controllers: [HealthController],
})
export class HealthModule {}
