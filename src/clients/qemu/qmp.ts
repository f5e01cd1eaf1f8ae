// One QMP command to a running qemu over its unix socket (the QEMU Machine Protocol: a greeting,
// qmp_capabilities, then the command; each answer one JSON line).
import { connect } from 'node:net';

export async function qmp(socketPath: string, command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buffer = '';
    let step = 0;
    const timer = setTimeout(() => finish(new Error(`qemu's QMP did not answer ${command} within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error, value?: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    sock.on('error', (err) => finish(new Error(`qemu's QMP socket: ${err.message}`)));
    sock.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc?: string }; event?: string };
        if (msg.event) continue;
        if (msg.error) return finish(new Error(`qemu refused ${command}: ${msg.error.desc ?? 'error'}`));
        if (step === 0 && msg.QMP) {
          step = 1;
          sock.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if (step === 1 && 'return' in msg) {
          step = 2;
          sock.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
        } else if (step === 2 && 'return' in msg) {
          return finish(undefined, msg.return);
        }
      }
    });
  });
}
