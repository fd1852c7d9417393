import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { RequestHandler } from 'express';

/**
 * Puts the OpenAPI description's handler on Express when the application initialises: after Nest has registered its
 * routes and before its not-found handler. Only requests that no API route took reach it, so `POST /push` is never
 * matched against the description's paths first.
 */
@Injectable()
export class OpenApiRoutes implements OnModuleInit {
  private handler?: RequestHandler;

  constructor(private readonly host: HttpAdapterHost) {}

  /** The handler to mount; before the application initialises. */
  serve(handler: RequestHandler): void {
    this.handler = handler;
  }

  onModuleInit(): void {
    if (this.handler) this.host.httpAdapter.use(this.handler);
  }
}
