import { describeStoreContract } from './store.contract.js';
import { MemoryStore } from './memory.js';

describeStoreContract('memory', () => new MemoryStore());
