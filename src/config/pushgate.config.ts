// The configuration's one import path for the rest of the code: the schema and defaults, the loader, the
// validation's error, the section tokens and the apps' live settings each live in a file of their own.
export * from './config.schema';
export { bootConfigSource, CONFIG_SOURCE, configPathFrom, describeTomlError, loadConfig } from './config.loader';
export { ConfigError } from './config.validation';
export * from './config.sections';
export { AppsSettings } from './apps.settings';
export { PushgateConfigModule } from './config.module';
