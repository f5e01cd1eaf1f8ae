// Which build of a MySQL-family server an instance runs: the configured binaries (mysqld_bin,
// install_db_bin, upgrade_bin), or one of the builds unpacked side by side ([<engine>]
// version_dirs: a package's tree under a directory of its own), chosen by the version the server
// reports. A build outside / is told where its files are (basedir, error messages, plugins).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { majorMinor, versionOf } from '../detect.js';
import { describe, pickBuild, probeBuilds, type Build } from '../builds.js';
import type { MysqlFamilyConfig } from './settings.js';

export interface MysqlBinaries {
  /** '' for the configured binaries, else the version directory */
  root: string;
  mysqld: string;
  installDb: string;
  /** the engine's upgrade step ('' = none) */
  upgrade: string;
  /** options the server (and the initialiser) need to find this build's own files */
  serverArgs: string[];
}

export function binariesAt(c: MysqlFamilyConfig, root: string): MysqlBinaries {
  if (!root) return { root: '', mysqld: c.mysqld_bin, installDb: c.install_db_bin, upgrade: c.upgrade_bin, serverArgs: [] };
  const inRoot = (bin: string) => (bin ? path.join(root, bin) : '');
  const plugins = path.join(root, 'usr/lib/mysql/plugin');
  return {
    root,
    mysqld: inRoot(c.mysqld_bin),
    installDb: inRoot(c.install_db_bin),
    upgrade: inRoot(c.upgrade_bin),
    serverArgs: [
      `--basedir=${path.join(root, 'usr')}`,
      `--lc-messages-dir=${path.join(root, 'usr/share/mysql')}`,
      ...(existsSync(plugins) ? [`--plugin-dir=${plugins}`] : []),
    ],
  };
}

/** The full version a server binary reports (e.g. 10.11.18), undefined when it is missing or says none. */
export function serverVersion(bin: string): Promise<string | undefined> {
  return versionOf(bin, SERVER_VERSION);
}

const SERVER_VERSION = /Ver\s+(\d+\.\d+\.\d+)/;

/** Every build here: the configured one first, then each version directory, with the version it reports. */
export async function installedBuilds(c: MysqlFamilyConfig): Promise<Array<Build<MysqlBinaries>>> {
  return probeBuilds([binariesAt(c, ''), ...c.version_dirs.map((d) => binariesAt(c, d))], (b) => b.mysqld, SERVER_VERSION);
}

/**
 * The build of a version: the one reporting exactly `version` (10.11.18), else the first (the
 * configured one first) whose version name is `version` (10.11); undefined when none is installed here.
 */
export async function findBuild(c: MysqlFamilyConfig, version: string): Promise<MysqlBinaries | undefined> {
  return pickBuild(await installedBuilds(c), version, majorMinor);
}

/** The builds here, for a message: "/usr/sbin/mariadbd (10.11.19), /opt/x/usr/sbin/mariadbd (missing)". */
export async function describeBuilds(c: MysqlFamilyConfig): Promise<string> {
  return describe(await installedBuilds(c), (b) => b.mysqld);
}
