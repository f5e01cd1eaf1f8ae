// What the bins run: an entry point of the compiled tree in dist/ (tools/build/build.js makes it;
// `npm start` builds it when the sources changed), or one clear line when it was never built.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Imports dist/<entry> (e.g. src/cmd/api.js), which runs the process. */
export async function runCompiled(entry) {
  const url = new URL(`../../dist/${entry}`, import.meta.url);
  if (!existsSync(url)) {
    process.stderr.write(`trove-ts is not built: ${fileURLToPath(url)} is missing (run npm run build; npm start builds it by itself)\n`);
    process.exit(1);
  }
  await import(url.href);
}
