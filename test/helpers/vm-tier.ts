// What the VM tier's tests share: whether they run at all (README "VM test tier"), and their control planes: compute_driver = qemu booting the images of
// IMAGE_DIR (or another directory), time enough for boots in software emulation, and the
// figures each test prints (README: the VM tier).
import test from 'ava';
import { IMAGE_DIR } from './vm-image.js';
import { testSetting } from './settings.js';

/** The VM tier runs with `npm run test:vm` (test/vm/run.sh sets TROVE_TEST_VM=1); in `npm test` its tests show as skipped. */
export const VM_TIER = testSetting('TROVE_TEST_VM', '') === '1';
export const vmTest = VM_TIER ? test : test.skip;

export function vmConfig(o: { imageDir?: string; usageTimeout?: number; shutdownTimeout?: number } = {}) {
  return {
    DEFAULT: {
      compute_driver: 'qemu',
      // a boot in software emulation takes minutes; each VM test sets its own bound
      usage_timeout: String(o.usageTimeout ?? 1800),
      report_interval: '5',
      server_sync_interval: '5',
    },
    // the VMs' state ([qemu] state_dir) is the control plane's [local] state_dir: reaped with it
    qemu: { image_dir: o.imageDir ?? IMAGE_DIR, shutdown_timeout: String(o.shutdownTimeout ?? 60) },
  };
}

/** One figure line: `vm tier: <what>: <seconds> s`. */
export function vmFigure(what: string, seconds: number): void {
  console.log(`vm tier: ${what}: ${seconds.toFixed(0)} s`);
}
