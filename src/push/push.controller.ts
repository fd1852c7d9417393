import { BadRequestException, Body, Controller, HttpCode, Post, Put, Query } from '@nestjs/common';
import { PushAcceptedDto, PushRequestDto } from './push.dto';
import { PushService } from './push.service';
import { PushWorkers } from './push.workers';

@Controller()
export class PushController {
  constructor(
    private readonly push: PushService,
    private readonly workers: PushWorkers,
  ) {}

  @Post('push')
  @HttpCode(200)
  accept(@Body() request: PushRequestDto): Promise<PushAcceptedDto> {
    return this.push.accept(request);
  }

  @Put('config/pushers')
  @HttpCode(200)
  setPushers(@Query('max') max?: string): { message: string } {
    if (max === undefined || !/^\d{1,9}$/.test(max)) throw new BadRequestException({ message: 'malformed value' });
    this.workers.setPusherMax(Number(max));
    return { message: 'ok' };
  }
}
