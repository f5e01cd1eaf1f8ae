#!/usr/bin/env node
// Runs the TypeScript entry point through tsx's ESM loader (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../tools/trove-wait/main.ts');
