// Which PostgreSQL build runs an instance: the configured installation ([postgresql] bin_dir, else
// the newest /usr/lib/postgresql/<major>/bin), or one unpacked side by side ([postgresql]
// version_dirs: <dir>/usr/lib/postgresql/<major>/bin). A data directory can only be run by a
// build of its own major (its PG_VERSION), so that is what picks the build of a prepared instance:
// after a pg_upgrade the new major's, after a rollback the old one's, with no other state to keep.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, nameBuilds, pickBuild, probeBuilds, type Build } from '../builds.js';
import type { DetectedEngine } from '../detect.js';
import type { PostgresqlConfig } from './config.js';
import { findBinDir } from './detect.js';

export interface PgBuild {
  /** '' for the configured installation, else the version directory */
  root: string;
  /** where initdb, pg_ctl, postgres, pg_upgrade… are ('' when no installation is found) */
  binDir: string;
}

export const PG_VERSION = /\(PostgreSQL\)\s+(\d+\.\d+)/;

/** The version name of a PostgreSQL version: its major (15 for 15.10; since PostgreSQL 10 one number). */
export const pgMajor = (v: string): string => v.split('.')[0]!;

export function buildsOf(c: PostgresqlConfig): PgBuild[] {
  const configured: PgBuild = { root: '', binDir: c.bin_dir ?? findBinDir() ?? '' };
  return [
    configured,
    ...c.version_dirs.map((root) => ({ root, binDir: findBinDir(path.join(root, 'usr/lib/postgresql')) ?? path.join(root, 'usr/lib/postgresql/bin') })),
  ];
}

export const postgresOf = (b: PgBuild): string => (b.binDir ? path.join(b.binDir, 'postgres') : '');

export function installedPgBuilds(c: PostgresqlConfig): Promise<Array<Build<PgBuild>>> {
  return probeBuilds(buildsOf(c), postgresOf, PG_VERSION);
}

/** The build of a version (13.23, or the major 13); undefined when none is installed here. */
export async function findPgBuild(c: PostgresqlConfig, version: string): Promise<PgBuild | undefined> {
  return pickBuild(await installedPgBuilds(c), version, pgMajor);
}

export async function describePgBuilds(c: PostgresqlConfig): Promise<string> {
  return describe(await installedPgBuilds(c), postgresOf);
}

/** Each build as a datastore version (the configured one first: the default): named by its major, or its full version beside a build of the same major. */
export async function detectPgBuilds(c: PostgresqlConfig): Promise<DetectedEngine[]> {
  return nameBuilds(await installedPgBuilds(c), pgMajor).map(({ version, name }) => ({
    manager: 'postgresql',
    version,
    name,
    replicationStrategy: 'PostgresqlReplication',
  }));
}

const versions = new Map<string, string | undefined>();

/** The version a build's postgres reports, asked once per process (a synchronous call: the build is chosen before every start). */
export function versionNow(b: PgBuild): string | undefined {
  const bin = postgresOf(b);
  if (!versions.has(bin)) {
    let v: string | undefined;
    try {
      v = existsSync(bin) ? PG_VERSION.exec(execFileSync(bin, ['--version'], { timeout: 10_000 }).toString())?.[1] : undefined;
    } catch {
      v = undefined;
    }
    versions.set(bin, v);
  }
  return versions.get(bin);
}

/** The major of the cluster in a data directory (its PG_VERSION), undefined before initdb. */
export function clusterMajor(dataDir: string): string | undefined {
  const f = path.join(dataDir, 'PG_VERSION');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}

/** The build for a data directory of `major`: `preferred` when it is of that major, else the first build that is; undefined when none is. */
export function buildForMajor(all: PgBuild[], major: string, preferred?: PgBuild): PgBuild | undefined {
  const ofMajor = (b: PgBuild) => {
    const v = versionNow(b);
    return v !== undefined && pgMajor(v) === major;
  };
  if (preferred && ofMajor(preferred)) return preferred;
  return all.find(ofMajor);
}
