// Object storage on this machine: the directory tree of src/common/object-directory.ts under
// [local] state_dir/objects (Swift's layout, etags and our sha256; see that file).
import path from 'node:path';
import { ObjectDirectory } from '../../common/object-directory.js';
import type { ObjectStore } from '../object-store.js';
import type { LocalConfig } from './config.js';

export class LocalObjectStore extends ObjectDirectory implements ObjectStore {
  constructor(c: Pick<LocalConfig, 'state_dir'>) {
    super(path.join(c.state_dir, 'objects'));
  }
}
