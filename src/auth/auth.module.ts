import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './auth.guard';
import { ApiKeys } from './auth.keys';

/** API keys and per-key rate limits for every route, including those other modules add. */
@Global()
@Module({
  providers: [ApiKeys, ApiKeyGuard, { provide: APP_GUARD, useExisting: ApiKeyGuard }],
  exports: [ApiKeys, ApiKeyGuard],
})
export class AuthModule {}
