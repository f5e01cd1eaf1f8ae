// What goes into a datastore's guest image: Debian's base system (the same for every datastore)
// and the datastore's own recipe, etc/datastores/<datastore>/image.json: the engine's packages and
// the units those packages enable that must not run (the guest agent starts the engine itself).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../trove-manage/context.js';

/** The base system every image shares: a kernel for virtual machines, systemd, a bootloader's files, what the first boot needs. */
export const BASE_PACKAGES = [
  'systemd-sysv',
  'systemd-resolved',
  'udev',
  'dbus',
  'kmod',
  'initramfs-tools',
  'linux-image-cloud-amd64',
  'grub-pc-bin',
  'e2fsprogs',
  'iproute2',
  'iptables',
];

export const recipeSchema = z.object({
  description: z.string().optional(),
  /** the guest agent's engine (the datastore version's manager); default: the datastore's name */
  manager: z.string().optional(),
  /** Debian packages of the engine and the tools its agent uses (backups). */
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'a Debian package name')),
  /** systemd units the packages enable that would start the engine behind the agent's back. */
  mask_units: z.array(z.string().regex(/^[A-Za-z0-9@._-]+$/, 'a systemd unit name')).default([]),
});

export type Recipe = z.output<typeof recipeSchema>;

/** The recipe of `datastore` (or the file `recipeFile`): an unknown datastore or a bad file is the operator's error. */
export function readRecipe(repo: string, datastore: string, recipeFile?: string): { recipe: Recipe; file: string } {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(datastore)) throw new UsageError(`'${datastore}' is not a datastore name.`);
  const file = recipeFile ? path.resolve(recipeFile) : path.join(repo, 'etc', 'datastores', datastore, 'image.json');
  if (!existsSync(file)) throw new UsageError(`No image recipe for datastore '${datastore}': ${file} does not exist.`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const r = recipeSchema.safeParse(json);
  if (!r.success) throw new UsageError(`${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  return { recipe: r.data, file };
}
