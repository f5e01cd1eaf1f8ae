// Trove's 422 when a member of an operation is busy: the state it is in now, as the routes word it.
import { NotFoundError, UnprocessableEntityError } from '../../common/errors.js';
import { runningBackupOf } from '../../db/backups.js';
import { getInstance } from '../../db/instances.js';
import type { Db } from '../../db/connection.js';
import { assertCanAct, assertCanDelete } from '../resources/instances/availability.js';
import { taskStatus } from '../resources/instances/status.js';

/** An action refuses with validate_can_perform_action's words; a delete with "is not ready". */
export type Refusal = 'action' | 'delete';

/** Raises the 422 for `busy`, which another task took before this one (members: the size of the set). */
export async function refuse(db: Db, kind: Refusal, busy: string, members: number): Promise<never> {
  const now = await getInstance(db, busy);
  if (kind === 'delete') {
    if (!now) throw NotFoundError.resource(busy);
    assertCanDelete(now);
    throw new UnprocessableEntityError(`Instance ${busy} is not ready. (Status is ${taskStatus(now)}).`);
  }
  if (now) assertCanAct(now, Boolean(await runningBackupOf(db, busy)));
  // taken and given back again meanwhile: still not this request's
  const of = members > 1 ? ' of the replica set' : '';
  throw new UnprocessableEntityError(`Instance ${busy}${of} is not currently available for an action to be performed.`);
}
