// Checks that a Glance image exists before a datastore version points at it, when a Keystone is
// configured; the all-in-one mode (no Keystone) has no Glance and skips the check.
import type { RawConfig } from '../../src/common/config/reader.js';
import { cloudDrivers } from '../../src/clients/factory.js';
import { ImageNotFoundError } from '../../src/clients/image.js';
import { UsageError } from './context.js';

export async function checkImage(raw: RawConfig, imageId: string): Promise<void> {
  const images = cloudDrivers(raw).images();
  if (!images) return;
  try {
    await images.getImage(imageId);
  } catch (err) {
    if (err instanceof ImageNotFoundError) throw new UsageError(`Image ${imageId} cannot be found.`);
    throw new UsageError(`Image ${imageId} could not be checked: ${(err as Error).message} (use --skip-image-check to register it anyway).`);
  }
}
