export * from './types.js';
export {
  openTwinStore,
  type TwinStore,
  type PersistedState,
  type PersistedTwin,
  type PersistedMeta,
} from './store/twin-store.js';
export { TwinService, MAX_ADHOC_TWINS, type TwinServiceOptions, type ChangeOptions } from './engine/twin-service.js';
export { MetricsRegistry, Counter, Gauge, Histogram, DEFAULT_BUCKETS, type Labels } from './metrics.js';
export { TwinMqttHandler, type TwinMqttHandlerOptions } from './mqtt/twin-mqtt-handler.js';
export { createHttpApi, API_PREFIX } from './http/lazy-api.js';
export { openEventStream } from './http/event-stream.js';
export type { HttpApiOptions } from './http/api.js';
export { type HttpScope, type HttpAccessOptions } from './http/access.js';
export { twinEtag, parseIfMatch } from './http/etag.js';
export { collectGarbageNow, startOptimizing, tuneHeapForEdge } from './heap.js';
export {
  HistoryStore,
  DEFAULT_HISTORY_LAYOUT,
  type HistoryLayout,
  type HistoryEvent,
  type Bucket,
} from './history/history-store.js';
export { HistoryRecorder, type HistoryRecorderOptions } from './history/history-recorder.js';
export { queryHistory, MAX_HISTORY_STEPS, type HistoryPoint, type HistoryQuery } from './history/history-query.js';
