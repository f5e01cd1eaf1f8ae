// Datastore version numbers: their numeric order (10.11.9 < 10.11.18) and the patch releases of a
// version (same datastore and manager, same major.minor, newer, active) that a minor upgrade may go to.

/** Numeric comparison of dotted versions (10.11.9 < 10.11.18); undefined when either is not numeric. */
export function compareVersions(a: string, b: string): number | undefined {
  const parts = (v: string) => (/^\d+(\.\d+)*$/.test(v) ? v.split('.').map(Number) : undefined);
  const x = parts(a);
  const y = parts(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** What a version row needs to be compared. */
export interface VersionLike {
  id: string;
  datastore_id: string;
  name: string;
  version: string | null;
  manager: string;
  active: boolean | number;
}

/** The version's number: its `version` (10.11.19) or, without one, its name. */
export const numberOf = (v: Pick<VersionLike, 'version' | 'name'>): string => v.version || v.name;

const seriesOf = (n: string) => n.split('.').slice(0, 2).join('.');

/**
 * The newer patch releases of `current` among `versions`: same datastore and manager, active, the
 * same major.minor (10.11), a higher number; oldest first (the last is the newest).
 */
export function newerPatchReleases<V extends VersionLike>(current: VersionLike, versions: V[]): V[] {
  const mine = numberOf(current);
  if (mine.split('.').length < 2 || compareVersions(mine, mine) === undefined) return [];
  return versions
    .filter(
      (v) =>
        v.id !== current.id &&
        v.datastore_id === current.datastore_id &&
        v.manager === current.manager &&
        Boolean(v.active) &&
        seriesOf(numberOf(v)) === seriesOf(mine) &&
        compareVersions(numberOf(v), mine) === 1,
    )
    .sort((a, b) => compareVersions(numberOf(a), numberOf(b))!);
}
