#!/usr/bin/env node
// trove-guestagent: runs the compiled JavaScript in dist/ (made by `npm run build`; `npm start` and the tests build it when the sources changed).
import { runCompiled } from '../tools/build/compiled.js';

await runCompiled('guestagent/main.js');
