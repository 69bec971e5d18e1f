/**
 * The `store` config section: where and how the embedded SQLite store keeps its data.
 */
import { z } from 'zod';

export const StoreSchema = z
  .object({
    /** File name of the SQLite database inside the data directory. @default "umbra.db" */
    file: z.string().min(1).default('umbra.db'),
    /** How long a writer waits for another writer's lock, in milliseconds. @default 5000 */
    busy_timeout_ms: z.number().int().min(0).default(5000),
    /** SQLite page cache per connection, in MiB. @default 64 */
    cache_mb: z.number().int().min(1).max(4096).default(64),
  })
  .strict();

export type StoreConfig = z.output<typeof StoreSchema>;
