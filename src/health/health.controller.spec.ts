import { Global, Injectable, Module, ServiceUnavailableException } from '@nestjs/common';
import { HealthIndicatorService, TerminusModule, type HealthIndicatorResult } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { ApiKeyGuard } from '../auth/auth.guard';
import { HealthController } from './health.controller';
import { HealthModule } from './health.module';
import { Readiness, type ReadinessIndicator } from './readiness';

const state = { backendUp: true };

@Injectable()
@Readiness()
class QueueIndicator implements ReadinessIndicator {
  constructor(private readonly health: HealthIndicatorService) {}
  isReady(): HealthIndicatorResult {
    return this.health.check('queue').up({ usage: 0 });
  }
}

@Injectable()
@Readiness()
class BackendIndicator implements ReadinessIndicator {
  constructor(private readonly health: HealthIndicatorService) {}
  isReady(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check('backend');
    return Promise.resolve(state.backendUp ? indicator.up() : indicator.down({ reason: 'unreachable' }));
  }
}

@Module({ imports: [TerminusModule], providers: [QueueIndicator] })
class QueueFeature {}

@Module({ imports: [TerminusModule], providers: [BackendIndicator] })
class BackendFeature {}

/** The application's key guard, as AuthModule provides it everywhere; readiness details are shown to every caller. */
@Global()
@Module({ providers: [{ provide: ApiKeyGuard, useValue: { hidesDetailsFrom: () => false } }], exports: [ApiKeyGuard] })
class OpenAuth {}

async function readiness(...features: (typeof QueueFeature)[]): Promise<HealthController> {
  const moduleRef = await Test.createTestingModule({ imports: [OpenAuth, HealthModule, ...features] }).compile();
  await moduleRef.init();
  return moduleRef.get(HealthController);
}

describe('HealthController readiness', () => {
  beforeEach(() => (state.backendUp = true));

  it('composes the indicator of every composed module, in the order the modules are composed', async () => {
    const controller = await readiness(BackendFeature, QueueFeature);
    const result = await controller.ready();
    expect(result.status).toBe('ok');
    expect(Object.keys(result.details)).toEqual(['backend', 'queue']);
    expect(Object.keys((await (await readiness(QueueFeature, BackendFeature)).ready()).details)).toEqual(['queue', 'backend']);
  });

  it('answers 503 when one contributed indicator is down', async () => {
    const controller = await readiness(QueueFeature, BackendFeature);
    state.backendUp = false;
    const refusal = await controller.ready().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ServiceUnavailableException);
    expect((refusal as ServiceUnavailableException).getResponse()).toMatchObject({
      status: 'error',
      error: { backend: { status: 'down', reason: 'unreachable' } },
    });
  });

  it('has nothing to check from a module that is not composed', async () => {
    const result = await (await readiness(QueueFeature)).ready();
    expect(Object.keys(result.details)).toEqual(['queue']);
  });
});
