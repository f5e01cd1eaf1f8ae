// ?limit=&marker= paging as Trove: limit capped by config, a `next` link carrying the marker.
import type { Context } from 'koa';
import { BadRequestError } from '../common/errors.js';
import type { ApiDeps } from './deps.js';

export function pageParams(ctx: Context, maxLimit: number): { limit: number; marker: string | undefined } {
  const rawLimit = ctx.query.limit;
  let limit = maxLimit;
  if (rawLimit !== undefined) {
    const n = Number(rawLimit);
    if (!Number.isInteger(n) || n < 1) throw new BadRequestError(`limit must be a positive integer, got '${String(rawLimit)}'.`);
    limit = Math.min(n, maxLimit);
  }
  const marker = typeof ctx.query.marker === 'string' && ctx.query.marker !== '' ? ctx.query.marker : undefined;
  return { limit, marker };
}

export function nextLink(ctx: Context, deps: ApiDeps, marker: string): { rel: string; href: string } {
  const url = new URL(`${deps.config.links_scheme}://${ctx.host}${ctx.path}`);
  for (const [k, v] of Object.entries(ctx.query)) if (k !== 'marker' && typeof v === 'string') url.searchParams.set(k, v);
  url.searchParams.set('marker', marker);
  return { rel: 'next', href: url.toString() };
}
