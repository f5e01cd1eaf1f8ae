// Builds of an engine installed side by side ([<engine>] version_dirs): the configured build
// first, then each version directory, each with the version its server program reports. Shared by
// the engines whose instances can be created on, and upgraded to, another build (MariaDB, MySQL,
// PostgreSQL); each engine says where a build's server program is and how its version reads.
import { versionOf } from './detect.js';

export interface Build<B> {
  binaries: B;
  /** The full version the server program reports (e.g. 10.11.18, 13.23); undefined when it is missing or says none. */
  version: string | undefined;
}

export async function probeBuilds<B>(all: B[], server: (b: B) => string, pattern: RegExp): Promise<Array<Build<B>>> {
  return Promise.all(all.map(async (binaries) => ({ binaries, version: await versionOf(server(binaries), pattern) })));
}

/**
 * The build of a version: the one reporting exactly `version`, else the first whose version name
 * (`nameOf`: 10.11 for MariaDB, the major 13 for PostgreSQL) is `version` (the configured build
 * first); undefined when none is installed here.
 */
export function pickBuild<B>(builds: Array<Build<B>>, version: string, nameOf: (v: string) => string): B | undefined {
  const exact = builds.find((b) => b.version === version);
  if (exact) return exact.binaries;
  return builds.find((b) => b.version && nameOf(b.version) === version)?.binaries;
}

/** The builds for a message: "/usr/sbin/mariadbd (10.11.19), /opt/x/usr/sbin/mariadbd (missing)". */
export function describe<B>(builds: Array<Build<B>>, server: (b: B) => string): string {
  return builds.map((b) => `${server(b.binaries)} (${b.version ?? 'missing'})`).join(', ');
}

/**
 * Each build once per version, with the name its datastore version gets: the version name
 * (`nameOf`), or the full version when an earlier build already has that name (10.11.18 beside 10.11).
 */
export function nameBuilds<B>(builds: Array<Build<B>>, nameOf: (v: string) => string): Array<{ build: Build<B>; version: string; name: string }> {
  const out: Array<{ build: Build<B>; version: string; name: string }> = [];
  for (const b of builds) {
    if (!b.version || out.some((f) => f.version === b.version)) continue;
    const name = out.some((f) => f.name === nameOf(b.version!)) ? b.version : nameOf(b.version);
    out.push({ build: b, version: b.version, name });
  }
  return out;
}
