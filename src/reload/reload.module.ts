import { Module } from '@nestjs/common';
import { ApnsModule } from '../apns/apns.module';
import { bootConfigSource, CONFIG_SOURCE } from '../config/pushgate.config';
import { FcmModule } from '../fcm/fcm.module';
import { ReloadController } from './reload.controller';
import { ReloadService } from './reload.service';

@Module({
  imports: [ApnsModule, FcmModule],
  controllers: [ReloadController],
  providers: [{ provide: CONFIG_SOURCE, useFactory: bootConfigSource }, ReloadService],
  exports: [ReloadService],
})
export class ReloadModule {}
