// One progress line per look at a building instance: elapsed time, status, the guest's state and,
// on ERROR, the fault; and whether the wait is over.

export interface InstanceView {
  id: string;
  name: string;
  status: string;
  operating_status?: string;
  ip?: string[];
  fault?: { message?: string };
}

export type Outcome = 'waiting' | 'ready' | 'failed';

const PHASES: Record<string, string> = {
  BUILD: 'building',
  REBOOT: 'restarting',
  RESIZE: 'resizing',
  SHUTDOWN: 'shutting down',
  RESTART_REQUIRED: 'restart required',
};

export function outcome(i: InstanceView): Outcome {
  if (i.status === 'ERROR') return 'failed';
  if (i.status === 'ACTIVE' && (i.operating_status ?? 'HEALTHY') === 'HEALTHY') return 'ready';
  return 'waiting';
}

export function progressLine(i: InstanceView, elapsedMs: number): string {
  const t = `[${(elapsedMs / 1000).toFixed(1).padStart(5)}s]`;
  const guest = i.operating_status ? ` guest ${i.operating_status}` : '';
  switch (outcome(i)) {
    case 'ready':
      return `${t} ${i.name} is ACTIVE${guest}${i.ip?.length ? ` at ${i.ip.join(', ')}` : ''}`;
    case 'failed':
      return `${t} ${i.name} is ERROR: ${i.fault?.message ?? 'no fault recorded'}`;
    default:
      return `${t} ${i.name} ${i.status} (${PHASES[i.status] ?? 'waiting'})${guest}`;
  }
}
