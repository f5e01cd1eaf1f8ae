// The guest agent as the image runs it: guestagent/main.ts (trove-guestagent) and
// guestagent/boot/main.ts (trove-guest-boot) compiled by esbuild into one JavaScript file each,
// with every production dependency they import inside (none is native: pg's optional pg-native is
// left out), for the Node.js the image carries.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export interface AgentBundle {
  /** directory holding trove-guestagent.mjs and trove-guest-boot.mjs */
  dir: string;
  hash: string;
  bytes: number;
}

// ES modules bundled from CommonJS packages still call require(): give them one
const REQUIRE_SHIM = "import { createRequire as __troveRequire } from 'node:module'; const require = __troveRequire(import.meta.url);";

export async function bundleAgent(repo: string, cacheDir: string): Promise<AgentBundle> {
  const r = await build({
    entryPoints: { 'trove-guestagent': path.join(repo, 'guestagent/main.ts'), 'trove-guest-boot': path.join(repo, 'guestagent/boot/main.ts') },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    outdir: 'out',
    write: false,
    external: ['pg-native'],
    banner: { js: REQUIRE_SHIM },
    // the version the agent reports (guestagent/agent-version.ts): the bundle has no package.json beside it
    define: { TROVE_AGENT_VERSION: JSON.stringify((JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version) },
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files = r.outputFiles.map((f) => ({ name: path.basename(f.path), contents: f.contents })).sort((a, b) => a.name.localeCompare(b.name));
  const h = createHash('sha256');
  for (const f of files) h.update(f.name).update(f.contents);
  const hash = h.digest('hex');
  const dir = path.join(cacheDir, `agent-${hash.slice(0, 12)}`);
  if (!existsSync(dir)) {
    rmSync(`${dir}.part`, { recursive: true, force: true });
    mkdirSync(`${dir}.part`, { recursive: true });
    for (const f of files) writeFileSync(path.join(`${dir}.part`, f.name), f.contents);
    renameSync(`${dir}.part`, dir);
  }
  // earlier bundles are never used again
  for (const old of readdirSync(cacheDir))
    if (/^agent-[0-9a-f]{12}$/.test(old) && path.join(cacheDir, old) !== dir) rmSync(path.join(cacheDir, old), { recursive: true, force: true });
  return { dir, hash, bytes: files.reduce((n, f) => n + f.contents.length, 0) };
}
