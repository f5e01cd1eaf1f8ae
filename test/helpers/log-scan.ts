// Scans every log line a suite's services wrote for the secrets the suite used (passwords, tokens,
// keys, bus URLs): each secret is looked for as written, JSON-escaped and base64-encoded.
export interface LogScan {
  lines: number;
  /** One entry per (secret, line) hit: the secret's label, never the secret itself. */
  hits: Array<{ secret: string; line: string }>;
}

export type Secrets = Record<string, string>;

function forms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const b64 = Buffer.from(value).toString('base64').replace(/=+$/, '');
  return [...new Set([value, json, encodeURIComponent(value), b64])];
}

/** Splits the outputs into lines and finds each secret (labels as keys) in any of them. */
export function scanLogs(outputs: Array<string | string[]>, secrets: Secrets): LogScan {
  const lines = outputs
    .flatMap((o) => (Array.isArray(o) ? o : [o]))
    .flatMap((o) => o.split('\n'))
    .filter((l) => l.trim() !== '');
  const needles = Object.entries(secrets).map(([label, value]) => {
    if (value.length < 6) throw new Error(`secret ${label} is too short to scan for without false hits`);
    return [label, forms(value)] as const;
  });
  const hits: LogScan['hits'] = [];
  for (const line of lines) {
    for (const [label, fs] of needles) if (fs.some((f) => line.includes(f))) hits.push({ secret: label, line: line.replace(/\s+/g, ' ').slice(0, 300) });
  }
  return { lines: lines.length, hits };
}

/** The figure line a suite prints. */
export function logScanLine(scan: LogScan): string {
  return `log scan: ${scan.lines} lines, ${scan.hits.length} secrets`;
}
