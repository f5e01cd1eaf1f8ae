// Trove's per-user request rate limits (http_*_rate per minute), kept in memory per API process.
import { RateLimitedError } from '../common/errors.js';
import type { ApiDefaults } from './config.js';

export interface RateRule {
  verb: string;
  uri: string;
  regex: string;
  value: number;
  unit: 'MINUTE';
}

export interface RateView extends RateRule {
  remaining: number;
  nextAvailable: string;
}

interface Window {
  start: number;
  count: number;
}

const WINDOW_MS = 60_000;

export function rulesFromConfig(c: ApiDefaults): RateRule[] {
  return [
    { verb: 'POST', uri: '*', regex: '.*', value: c.http_post_rate, unit: 'MINUTE' },
    { verb: 'PUT', uri: '*', regex: '.*', value: c.http_put_rate, unit: 'MINUTE' },
    { verb: 'DELETE', uri: '*', regex: '.*', value: c.http_delete_rate, unit: 'MINUTE' },
    { verb: 'GET', uri: '*', regex: '.*', value: c.http_get_rate, unit: 'MINUTE' },
    { verb: 'POST', uri: '*/mgmt', regex: '^/mgmt', value: c.http_mgmt_post_rate, unit: 'MINUTE' },
  ];
}

/** Naive UTC ISO with a Z and no fraction, as Trove's limits view. */
function isoZ(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly compiled: Array<RateRule & { re: RegExp }>;

  constructor(
    rules: RateRule[],
    private readonly maxUsers = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.compiled = rules.map((r) => ({ ...r, re: new RegExp(r.regex) }));
  }

  /** Counts a request; throws RateLimitedError (413 overLimit) when a rule is exhausted. */
  hit(userId: string, method: string, path: string): void {
    const t = this.now();
    for (const [i, rule] of this.compiled.entries()) {
      if (rule.verb !== method || !rule.re.test(path)) continue;
      const w = this.window(`${userId}\u0000${i}`, t);
      if (w.count >= rule.value) {
        const retry = Math.max(1, Math.ceil((w.start + WINDOW_MS - t) / 1000));
        const err = new RateLimitedError('This request was rate-limited.', retry);
        Object.assign(err.extra, {
          details: `Only ${rule.value} ${rule.verb} request(s) can be made to ${rule.uri} every minute.`,
        });
        throw err;
      }
      w.count += 1;
    }
  }

  view(userId: string): RateView[] {
    const t = this.now();
    return this.compiled.map(({ re: _re, ...rule }, i) => {
      const w = this.peek(`${userId}\u0000${i}`, t);
      const remaining = Math.max(0, rule.value - (w?.count ?? 0));
      const nextAvailable = remaining > 0 || !w ? t : w.start + WINDOW_MS;
      return { ...rule, remaining, nextAvailable: isoZ(nextAvailable) };
    });
  }

  private peek(key: string, t: number): Window | undefined {
    const w = this.windows.get(key);
    return w && t - w.start < WINDOW_MS ? w : undefined;
  }

  private window(key: string, t: number): Window {
    let w = this.peek(key, t);
    if (!w) {
      if (this.windows.size >= this.maxUsers) this.evictExpired(t);
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    return w;
  }

  private evictExpired(t: number): void {
    for (const [k, w] of this.windows) if (t - w.start >= WINDOW_MS) this.windows.delete(k);
    // Still full: drop the oldest entries (Map keeps insertion order).
    for (const k of this.windows.keys()) {
      if (this.windows.size < this.maxUsers) break;
      this.windows.delete(k);
    }
  }
}
