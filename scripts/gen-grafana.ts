/** Writes deploy/grafana/umbra.json from scripts/grafana-dashboard.ts (run with `npm run grafana`; a test pins it). */
import { join } from 'node:path';
import { writeFileAtomic } from '../src/platform/fs.js';
import { grafanaDashboard } from './grafana-dashboard.js';

writeFileAtomic(join(process.cwd(), 'deploy', 'grafana', 'umbra.json'), `${JSON.stringify(grafanaDashboard(), null, 2)}\n`);
process.stderr.write('wrote deploy/grafana/umbra.json\n');
