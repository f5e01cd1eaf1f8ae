// A PostgreSQL major upgrade in place (Trove's upgrade to a newer major), with pg_upgrade and a
// way back. With the server still running, checks first: a build of the target major installed
// here, every extension of every database present in it; then the server stopped, a new cluster
// made by the target's initdb with the old one's encoding, locales, checksums and install user,
// `pg_upgrade --check`, then pg_upgrade itself (the NEW major's, in copy mode: the old cluster
// stays as it was, so it is the way back until the new one has proven itself; link mode would
// save the room and the time of a copy, but once the new server starts the old cluster can no
// longer be started). The instance's own files (postgresql.conf, pg_hba, pg_ident, conf.d with the
// configuration group overrides, postgresql.auto.conf) are carried over, the data directories
// swapped, the server started on the new major, its health and `SHOW server_version` checked,
// statistics gathered (pg_upgrade does not carry them), and only then the old cluster removed.
// Any failure: the new cluster dropped, the old data directory back, the old build started, and the
// error in pg_upgrade's own words (its output and the log files it names under pg_upgrade_output.d,
// a copy of which stays in the server's run directory).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../../src/common/log.js';
import { NotSupportedError, type Upgrade } from '../../capabilities.js';
import { EngineFailure, lastLines } from '../../platform/error-tail.js';
import { agentUserName, chownAll, ownTree, runAsServer } from '../../platform/os-user.js';
import { directoryBytes } from '../../platform/volume.js';
import { ADMIN_ROLE } from './admin.js';
import { describePgBuilds, findPgBuild, pgMajor, versionNow, type PgBuild } from './builds.js';
import { INSTANCE_FILES, renderIdent } from './conf-files.js';
import type { PostgresqlConfig } from './config.js';
import type { PgLifecycle } from './lifecycle.js';

const run = promisify(execFile);

type ExecError = Error & { stderr?: string; stdout?: string };

/** What the new cluster must be made with for pg_upgrade to accept it: the old one's. */
interface ClusterFacts {
  encoding: string;
  collate: string;
  ctype: string;
  checksums: boolean;
  /** every database's extensions: database -> names */
  extensions: Map<string, string[]>;
}

export class PgUpgrade implements Upgrade {
  constructor(
    private readonly c: PostgresqlConfig,
    private readonly lc: PgLifecycle,
    private readonly log: Logger,
  ) {}

  async upgrade(version: string): Promise<{ version: string }> {
    const target = await findPgBuild(this.c, version);
    if (!target)
      throw new EngineFailure(`No build of PostgreSQL ${version} is installed on this server (found: ${await describePgBuilds(this.c)}); nothing was changed.`);
    const before = this.lc.build();
    const oldVersion = await this.lc.runningVersion();
    const from = pgMajor(oldVersion);
    const to = pgMajor(versionNow(target)!);
    if (Number(to) < Number(from)) throw new EngineFailure(`PostgreSQL ${oldVersion} cannot be downgraded to ${version}; nothing was changed.`);
    if (to === from)
      throw new NotSupportedError(
        `A PostgreSQL minor release (${oldVersion} to ${version}) is not an upgrade this guest performs: it runs the build of the cluster's major.`,
      );

    // checks while the server runs: nothing has changed if they fail
    const facts = await this.clusterFacts();
    this.checkExtensions(facts, target, to);
    await this.checkRoom();

    const data = this.lc.paths.dataDir;
    const fresh = `${data}.upgrade-${to}`;
    const saved = `${data}.pre-upgrade-${from}`;
    this.log.info({ from: oldVersion, to: version, bin_dir: target.binDir }, 'upgrade: stopping the server for pg_upgrade');
    await this.lc.stop();
    rmSync(fresh, { recursive: true, force: true });
    rmSync(saved, { recursive: true, force: true });
    let swapped = false;
    try {
      mkdirSync(fresh, { mode: 0o700 });
      chownAll([fresh], this.lc.user());
      await this.initdb(target, fresh, facts);
      await this.pgUpgrade(before, target, fresh, true);
      await this.pgUpgrade(before, target, fresh, false);
      this.carryInstanceFiles(data, fresh);
      renameSync(data, saved);
      renameSync(fresh, data);
      swapped = true;
      this.lc.useBuild(target);
      await this.lc.start();
      const now = await this.lc.runningVersion();
      if (pgMajor(now) !== to) throw new EngineFailure(`the server reports version ${now}, not PostgreSQL ${to}`);
      const health = await this.lc.health();
      if (health !== 'healthy') throw new EngineFailure(`the server is ${health} after the upgrade`);
      await this.analyze(target);
      rmSync(saved, { recursive: true, force: true });
      rmSync(path.join(this.lc.paths.runDir, 'delete_old_cluster.sh'), { force: true });
      this.log.info({ version: now }, 'upgrade: done, the old cluster removed');
      return { version: now };
    } catch (err) {
      const e = err as Error & { logTail?: string };
      this.log.error({ err: e.message }, 'upgrade failed: rolling back to the old build and cluster');
      await this.lc.stop().catch(() => undefined);
      if (swapped && existsSync(saved)) {
        rmSync(data, { recursive: true, force: true });
        renameSync(saved, data);
      }
      rmSync(fresh, { recursive: true, force: true });
      this.lc.useBuild(before);
      let again = '';
      await this.lc.start().catch((s: Error) => (again = ` The old server did not start again: ${s.message}`));
      throw new EngineFailure(
        `The upgrade from PostgreSQL ${oldVersion} to ${version} failed and was rolled back to the old binaries and data: ${e.message}${again}`,
        e.logTail ?? '',
      );
    }
  }

  /** The old cluster's encoding and locales (template0's: pg_upgrade compares those), data checksums, and every database's extensions. */
  private async clusterFacts(): Promise<ClusterFacts> {
    const admin = this.lc.admin;
    const { t0, checksums, dbs } = await admin.run(async (c) => {
      const t0 = (
        await c.query("SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype FROM pg_database WHERE datname = 'template0'")
      ).rows[0] as { encoding: string; collate: string; ctype: string };
      const checksums = String((await c.query('SHOW data_checksums')).rows[0].data_checksums) === 'on';
      const dbs = (await c.query('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname')).rows.map((r: { datname: string }) => r.datname);
      return { t0, checksums, dbs };
    });
    const extensions = new Map<string, string[]>();
    for (const db of dbs) {
      const names = await admin.run(
        async (c) => (await c.query('SELECT extname FROM pg_extension ORDER BY extname')).rows.map((r: { extname: string }) => r.extname),
        db,
      );
      extensions.set(db, names);
    }
    return { ...t0, checksums, extensions };
  }

  /** Every extension of the old cluster must exist in the target build (its share/extension/<name>.control). */
  private checkExtensions(facts: ClusterFacts, target: PgBuild, major: string): void {
    const dir = shareDirOf(target, major);
    const missing: string[] = [];
    for (const [db, names] of facts.extensions) {
      for (const n of names) if (!existsSync(path.join(dir, 'extension', `${n}.control`))) missing.push(`${n} (database ${db})`);
    }
    if (missing.length)
      throw new EngineFailure(
        `The PostgreSQL ${major} build (${target.binDir}) lacks extensions the instance uses: ${missing.join(', ')}; install them in that build or drop them first. Nothing was changed.`,
      );
  }

  /** Copy mode writes a second copy of the data beside the old cluster: the volume must have room for it. */
  private async checkRoom(): Promise<void> {
    const need = await directoryBytes(this.lc.paths.dataDir);
    const fs = await this.lc.filesystemStats();
    const free = fs.free_blocks * fs.block_size;
    const mb = (n: number) => Math.ceil(n / 1024 / 1024);
    if (need > free)
      throw new EngineFailure(
        `The volume has ${mb(free)} MB free; pg_upgrade (copy mode, which keeps the old cluster as the way back) needs about ${mb(need)} MB beside it: resize the volume first (openstack database instance resize volume). Nothing was changed.`,
      );
  }

  /** The new cluster, by the target's initdb, as pg_upgrade needs it: the old one's encoding, locales, checksums and install user; local connections trusted (the socket directory is the server user's, 0700) until the instance's own pg_hba is carried over. */
  private async initdb(target: PgBuild, dir: string, f: ClusterFacts): Promise<void> {
    const args = [
      '-D',
      dir,
      '-U',
      ADMIN_ROLE,
      '-E',
      f.encoding,
      `--lc-collate=${f.collate}`,
      `--lc-ctype=${f.ctype}`,
      '--auth-local=trust',
      '--auth-host=reject',
    ];
    if (f.checksums) args.push('--data-checksums');
    try {
      await runAsServer(this.lc.user(), path.join(target.binDir, 'initdb'), args, this.lc.paths.runDir);
    } catch (err) {
      const x = err as ExecError;
      throw new EngineFailure(`initdb of the new cluster failed: ${lastLines(x.stderr || x.stdout || x.message)}`, `${x.stdout ?? ''}${x.stderr ?? ''}`);
    }
  }

  /**
   * The target's pg_upgrade (`check`: --check only), as the server's user, over the server's
   * socket directory and port (no TCP: pg_upgrade starts each server with listen_addresses='').
   * The old cluster's pg_ident lets the server's user in as the admin role meanwhile.
   */
  private async pgUpgrade(old: PgBuild, target: PgBuild, fresh: string, check: boolean): Promise<void> {
    const data = this.lc.paths.dataDir;
    const port = String(this.c.port);
    const ident = path.join(data, 'pg_ident.conf');
    const identText = readFileSync(ident, 'utf8');
    const u = this.lc.user();
    if (u) writeFileSync(ident, renderIdent(agentUserName(), u.name));
    const args = [
      '--old-bindir',
      old.binDir,
      '--new-bindir',
      target.binDir,
      '--old-datadir',
      data,
      '--new-datadir',
      fresh,
      '--username',
      ADMIN_ROLE,
      '--socketdir',
      this.lc.paths.socketDir,
      '--old-port',
      port,
      '--new-port',
      port,
      // copy mode is the default (an explicit --copy exists only from PostgreSQL 16 on)
      ...(check ? ['--check'] : []),
    ];
    this.log.info({ check }, 'upgrade: running pg_upgrade');
    try {
      await runAsServer(u, path.join(target.binDir, 'pg_upgrade'), args, this.lc.paths.runDir, 6 * 3600_000);
    } catch (err) {
      const x = err as ExecError;
      // the files it names are quoted where they are kept (the new cluster holding them is dropped on the way back)
      const kept = this.keepLogs(fresh);
      let said = pgUpgradeWords(`${x.stdout ?? ''}\n${x.stderr ?? ''}`, fresh);
      if (kept) said = said.replaceAll(path.join(fresh, 'pg_upgrade_output.d'), kept);
      throw new EngineFailure(`pg_upgrade${check ? ' --check' : ''} failed: ${said || lastLines(x.message)}`, `${x.stdout ?? ''}${x.stderr ?? ''}`);
    } finally {
      writeFileSync(ident, identText);
    }
  }

  /** pg_upgrade's output directory kept for the operator (the new cluster holding it is dropped on the way back). */
  private keepLogs(fresh: string): string | undefined {
    const out = path.join(fresh, 'pg_upgrade_output.d');
    if (!existsSync(out)) return undefined;
    const dest = path.join(this.lc.paths.runDir, 'pg_upgrade_output.d');
    rmSync(dest, { recursive: true, force: true });
    cpSync(out, dest, { recursive: true });
    this.log.info({ dir: dest }, "upgrade: pg_upgrade's logs kept");
    return dest;
  }

  /** The instance's own files of the old cluster replace initdb's in the new one (its settings, overrides, authentication). */
  private carryInstanceFiles(from: string, to: string): void {
    for (const name of INSTANCE_FILES) {
      const src = path.join(from, name);
      rmSync(path.join(to, name), { recursive: true, force: true });
      if (existsSync(src)) cpSync(src, path.join(to, name), { recursive: true, preserveTimestamps: true });
    }
    ownTree(to, this.lc.user());
  }

  /** Planner statistics, which pg_upgrade does not carry (its own advice: vacuumdb --analyze-in-stages); a failure here is logged, not fatal. */
  private async analyze(target: PgBuild): Promise<void> {
    const args = ['--all', '--analyze-in-stages', '-h', this.lc.paths.socketDir, '-p', String(this.c.port), '-U', ADMIN_ROLE];
    await run(path.join(target.binDir, 'vacuumdb'), args, { timeout: 3600_000, maxBuffer: 16 * 1024 * 1024 }).catch((err: ExecError) =>
      this.log.warn({ err: lastLines(err.stderr || err.message) }, 'upgrade: vacuumdb --analyze-in-stages failed; statistics are gathered by autovacuum'),
    );
  }
}

/** A build's share directory (extensions): Debian's layout, <prefix>/lib/postgresql/<major>/bin -> <prefix>/share/postgresql/<major>. */
function shareDirOf(b: PgBuild, major: string): string {
  return path.resolve(b.binDir, '..', '..', '..', '..', 'share', 'postgresql', major);
}

/**
 * What pg_upgrade said: its output from the failed check on (the "fatal" line and its
 * explanation), and the files it names there (a list of problem columns, or the server log to
 * consult) quoted from the end.
 */
export function pgUpgradeWords(output: string, fresh: string): string {
  const lines = output.split('\n').map((l) => l.trim());
  let start = lines.findIndex((l) => /\bfatal$/.test(l) || /^(error|could not|failure)/i.test(l));
  if (start < 0) start = Math.max(0, lines.length - 12);
  const said = lines
    .slice(start)
    .filter((l) => l && !/^Failure, exiting$/.test(l))
    .map((l) => l.replace(/\s{2,}/g, ' '));
  const files = [...new Set([...output.matchAll(/"?(\/[^\s"]+\.(?:txt|log))"?/g)].map((m) => m[1]!))].filter((f) => existsSync(f));
  // pg_upgrade says which log to consult; when it names none, its server log is still the likeliest reason
  if (!files.length) files.push(...serverLogs(fresh));
  const quoted = files.map((f) => `${path.basename(f)}: ${lastLines(readFileSync(f, 'utf8'), 6)}`);
  return [said.join(' '), ...quoted].filter(Boolean).join(' | ');
}

function serverLogs(fresh: string): string[] {
  const out = path.join(fresh, 'pg_upgrade_output.d');
  if (!existsSync(out)) return [];
  const found: string[] = [];
  for (const run of readdirSync(out)) {
    const f = path.join(out, run, 'log', 'pg_upgrade_server.log');
    if (existsSync(f)) found.push(f);
  }
  return found;
}
