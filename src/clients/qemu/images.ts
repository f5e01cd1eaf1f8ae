// The guest images `trove-manage guest_image_build` makes: <image_dir>/<datastore>.qcow2 beside
// <datastore>.json, the manifest that names it. An image's id is derived from its content (a
// uuid-shaped form of its SHA-256), so a datastore version registered with it points at exactly
// that build; the qemu driver finds an image by that id.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ImageManifest {
  id: string;
  datastore: string;
  /** the guest agent's engine in it (the datastore version's manager) */
  manager: string;
  /** the engine's version name in the image (e.g. 10.11) and its full version */
  version: string;
  engine_version: string;
  /** the qcow2 file, beside the manifest */
  file: string;
  sha256: string;
  bytes: number;
  virtual_bytes: number;
  built_at: string;
  /** the hash of everything the image was built from: equal means nothing changed */
  inputs: string;
  /** the Glance image it was uploaded as, if it was */
  glance_id?: string;
}

export function imageIdFor(sha256: string): string {
  const h = sha256.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export const manifestPath = (dir: string, datastore: string) => path.join(dir, `${datastore}.json`);

export function readManifest(dir: string, datastore: string): ImageManifest | undefined {
  const file = manifestPath(dir, datastore);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ImageManifest) : undefined;
}

export function writeManifest(dir: string, m: ImageManifest): void {
  const file = manifestPath(dir, m.datastore);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(m, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The image of that id in `dir` (by glance_id too), with its file's path; undefined when there is none. */
export function findImage(dir: string, id: string): { manifest: ImageManifest; path: string } | undefined {
  if (!existsSync(dir)) return undefined;
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    let m: ImageManifest;
    try {
      m = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as ImageManifest;
    } catch {
      continue; // not a manifest
    }
    if ((m.id === id || m.glance_id === id) && m.file && existsSync(path.join(dir, m.file))) return { manifest: m, path: path.join(dir, m.file) };
  }
  return undefined;
}
