export { APNS_MAX_PAYLOAD_BYTES, toApnsOptions } from '../apns/apns.payload';
export { toFcmMessage } from '../fcm/fcm.payload';
