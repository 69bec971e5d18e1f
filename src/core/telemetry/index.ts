/**
 * Telemetry in the pure core: the mapping of every known shape into canonical events, the merge
 * rules the stores share, and the KPIs. I/O (files, tailing, the store) lives in src/ingest and
 * src/store.
 */
export * from './types.js';
export * from './map.js';
export * from './merge.js';
export * from './kpis.js';
export * from './timestamps.js';
