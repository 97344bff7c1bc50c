export { ReliableChannel, MIB } from './channel';
export type { ChannelError, ChannelErrorCode, ReliableChannelOptions, ReliableStats } from './channel';
