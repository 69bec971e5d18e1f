import { describeStoreContract } from './contract/index.js';
import { MemoryStore } from './memory.js';

describeStoreContract('memory', () => new MemoryStore(), { bundles: true });
