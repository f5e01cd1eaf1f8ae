// The health check in oslo.middleware's shape (GET and HEAD /healthcheck): each backend check
// gives a result; 200 (HEAD: 204) when all are available, else 503; the body is text/plain (one
// reason a line), text/html or application/json as the Accept header prefers, text/plain when it
// names none of them; `detailed` adds each result's details and the process's platform.
import os from 'node:os';

/** One backend: resolves with what it saw (details), rejects with why it is unavailable. */
export interface HealthCheck {
  name: string;
  check(): Promise<string>;
  /** What to add when the check does not answer in time (the state it is stuck in). */
  silent?(): string;
}

export interface HealthResult {
  available: boolean;
  reason: string;
  details: string;
}

export interface HealthResponse {
  status: number;
  contentType: string;
  body: string;
}

/** How long one check may take before it counts as unavailable. */
export const HEALTH_CHECK_TIMEOUT_MS = 5000;

async function runOne(c: HealthCheck, timeoutMs: number): Promise<HealthResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s${c.silent ? ` (${c.silent()})` : ''}`)), timeoutMs);
  });
  try {
    const details = await Promise.race([c.check(), timeout]);
    return { available: true, reason: 'OK', details: `${c.name}: ${details}` };
  } catch (err) {
    const why = (err as Error).message || String(err);
    return { available: false, reason: `${c.name} unavailable: ${why}`, details: why };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the checks together, each bounded by its timeout. */
export function runChecks(checks: HealthCheck[], timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<HealthResult[]> {
  return Promise.all(checks.map((c) => runOne(c, timeoutMs)));
}

const OFFERS = ['text/plain', 'text/html', 'application/json'] as const;
type Offer = (typeof OFFERS)[number];

/** The offer the Accept header prefers (highest q, then oslo's order), text/plain when none is acceptable. */
export function preferredType(accept: string | undefined): Offer {
  if (!accept) return 'text/plain';
  const ranges = accept.split(',').map((part) => {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return { range: range!.trim(), q: q ? Number(q.slice(2)) : 1 };
  });
  const qOf = (offer: Offer): number => {
    const [type] = offer.split('/');
    const match = ranges.find((r) => r.range === offer) ?? ranges.find((r) => r.range === `${type}/*`) ?? ranges.find((r) => r.range === '*/*');
    return match && Number.isFinite(match.q) ? match.q : 0;
  };
  let best: Offer = 'text/plain';
  let bestQ = 0;
  for (const o of OFFERS) {
    const q = qOf(o);
    if (q > bestQ) [best, bestQ] = [o, q];
  }
  return best;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** oslo's JSON: indented by 4, keys sorted. */
function prettyJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sorted(value), null, 4);
}

function platformFacts() {
  return {
    now: new Date().toISOString().replace('T', ' ').replace('Z', ''),
    platform: `${os.type()}-${os.release()}-${os.arch()}`,
    node_version: process.version,
  };
}

function jsonBody(results: HealthResult[], detailed: boolean): string {
  if (!detailed) return prettyJson({ detailed: false, reasons: results.map((r) => r.reason) });
  return prettyJson({
    detailed: true,
    ...platformFacts(),
    reasons: results.map((r) => ({ class: 'HealthcheckResult', details: r.details, reason: r.reason })),
  });
}

function htmlBody(results: HealthResult[], detailed: boolean): string {
  const facts = platformFacts();
  const head = detailed
    ? `<H1>Server status</H1>\n<B>Server hostname:</B><PRE>${escapeHtml(os.hostname())}</PRE>\n<B>Current time:</B><PRE>${facts.now}</PRE>\n` +
      `<B>Node.js version:</B><PRE>${facts.node_version}</PRE>\n<B>Platform:</B><PRE>${escapeHtml(facts.platform)}</PRE>\n<HR></HR>\n`
    : '';
  const header = detailed ? '<TH>\nKind\n</TH>\n<TH>\nReason\n</TH>\n<TH>\nDetails\n</TH>' : '<TH>\nReason\n</TH>';
  const rows = results
    .map((r) =>
      detailed
        ? `<TR>\n    <TD>HealthcheckResult</TD>\n    <TD>${escapeHtml(r.reason)}</TD>\n    <TD>${escapeHtml(r.details)}</TD>\n</TR>`
        : `<TR>\n    <TD>${escapeHtml(r.reason)}</TD>\n</TR>`,
    )
    .join('\n');
  return (
    `<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n${head}<H2>Result of ${results.length} checks:</H2>\n` +
    `<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n<TR>\n${header}\n</TR>\n${rows}\n</TBODY>\n</TABLE>\n<HR></HR>\n</BODY>\n</HTML>`
  );
}

/** The response to a health check request: method (GET or HEAD) and Accept header as given. */
export function healthResponse(results: HealthResult[], request: { method: string; accept?: string | undefined; detailed: boolean }): HealthResponse {
  const healthy = results.every((r) => r.available);
  if (request.method === 'HEAD') return { status: healthy ? 204 : 503, contentType: 'text/plain; charset=UTF-8', body: '' };
  const status = healthy ? 200 : 503;
  const type = preferredType(request.accept);
  if (type === 'application/json') return { status, contentType: 'application/json', body: jsonBody(results, request.detailed) };
  if (type === 'text/html') return { status, contentType: 'text/html; charset=UTF-8', body: htmlBody(results, request.detailed) };
  return { status, contentType: 'text/plain; charset=UTF-8', body: results.map((r) => r.reason).join('\n') };
}
