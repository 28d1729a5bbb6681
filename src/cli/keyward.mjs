#!/usr/bin/env node
// The `keyward` command in a checkout (package.json's bin; the published
// package runs dist/cli/bin.js). Plain JavaScript, so Node's compile cache is
// on before the first TypeScript module loads: cached modules skip type
// stripping and its WebAssembly start-up (docs/benchmarks.md, "CLI").
import module from 'node:module';

module.enableCompileCache?.();
await import('./bin.ts');
