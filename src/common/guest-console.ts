// The one line a guest that cannot start its agent writes on its console (the VM's serial port,
// which Nova's os-getConsoleOutput and the qemu driver read; a local agent's log): the taskmanager
// reads it while it waits for the guest, so the instance fails at once with the guest's reason
// instead of timing out. Written by the guest (guestagent/boot, guestagent/main.ts), read by the
// taskmanager: both sides use these two functions.
import { scrubSecrets } from './log.js';

const MARK = 'trove-guestagent: cannot start: ';

/** The console line for `reason` (one line, secrets scrubbed). */
export function cannotStartLine(reason: string): string {
  return `${MARK}${scrubSecrets(reason.replace(/\s*\n\s*/g, ' | '), 500)}\n`;
}

/** The last reason a console shows, if any. */
export function cannotStartReason(consoleText: string): string | undefined {
  const at = consoleText.lastIndexOf(MARK);
  if (at < 0) return undefined;
  const reason = consoleText
    .slice(at + MARK.length)
    .split(/\r?\n/)[0]!
    .trim();
  return reason || undefined;
}
