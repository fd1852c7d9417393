import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ADMIN_ROUTE } from './auth.guard';
import { StatusOnlyInterceptor } from './auth.interceptor';

/**
 * Marks a controller or route as administration (configuration, dead letters): it needs an API key, and without
 * any configured it answers 403 unless `auth.anonymous_admin = true`.
 */
export const AdminRoute = (): ClassDecorator & MethodDecorator => SetMetadata(ADMIN_ROUTE, true);

/** With `auth.protect_stats` and API keys, callers without a valid key get only `{"status": "ok" | "error"}`. */
export const StatusOnlyForAnonymous = (): ClassDecorator & MethodDecorator => applyDecorators(UseInterceptors(StatusOnlyInterceptor));
