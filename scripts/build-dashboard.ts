/** `npm run build:dashboard`: bundle src/dashboard into dist/dashboard (the server also does this on demand). */
import { relative } from 'node:path';
import { buildDashboard, DASHBOARD_OUT_DIR } from '../src/server/dashboard.ts';

const started = performance.now();
const manifest = await buildDashboard({ clean: true });
const ms = Math.round(performance.now() - started);
console.log(`dashboard built in ${ms} ms: ${relative(process.cwd(), DASHBOARD_OUT_DIR)}/{index.html,${manifest.script},${manifest.style}}`);
