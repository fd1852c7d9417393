/**
 * One injection token per section of the file, each provided with that section as loaded at boot: a class asks for
 * the sections it reads and nothing else. The apps' provider settings, which a reload replaces, are not among them:
 * they are read through {@link AppsSettings}.
 */
export const CORE_CONFIG = Symbol('CORE_CONFIG');
export const IOS_CONFIG = Symbol('IOS_CONFIG');
export const ANDROID_CONFIG = Symbol('ANDROID_CONFIG');
export const QUEUE_CONFIG = Symbol('QUEUE_CONFIG');
export const AUTH_CONFIG = Symbol('AUTH_CONFIG');
export const FEEDBACK_CONFIG = Symbol('FEEDBACK_CONFIG');
export const GORUSH_CONFIG = Symbol('GORUSH_CONFIG');
export const LOG_CONFIG = Symbol('LOG_CONFIG');
/** Every section at once, as loaded at boot: for what shows the whole configuration (`GET /api/config`). */
export const CONFIG_SECTIONS = Symbol('CONFIG_SECTIONS');
