// A browser-like HTTP client for the lab Horizon (tools/lab/horizon.sh): a cookie jar, redirects
// followed by hand (so each hop is seen), Django's CSRF token taken from the page's form, and the
// few HTML readings the Horizon test needs (table rows, form fields, error banners).
import type { TestFn } from 'ava';
import axios, { type AxiosInstance } from 'axios';
import { lab } from './keystone-lab.js';
import { testSetting } from './settings.js';
import { cloudAvailable, skipAll } from './cloud-lab.js';
import { chromiumMissing } from './chromium.js';

export const HORIZON_URL = `http://${lab.LAB_HOST}:${lab.HORIZON_PORT}`;

export interface Page {
  status: number;
  /** the path of the last hop (after redirects) */
  path: string;
  body: string;
  /** every hop's path, first to last */
  hops: string[];
}

export class Horizon {
  private readonly jar = new Map<string, string>();
  private readonly http: AxiosInstance;

  constructor(readonly base = HORIZON_URL) {
    this.http = axios.create({
      baseURL: base,
      maxRedirects: 0,
      timeout: 60_000,
      responseType: 'text',
      transformResponse: (d) => d,
      validateStatus: () => true,
    });
  }

  cookie(name: string): string | undefined {
    return this.jar.get(name);
  }

  private keep(setCookie: string[] | undefined): void {
    for (const c of setCookie ?? []) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attrs.some((a) => /^\s*expires=.*1970/i.test(a));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  private headers(): Record<string, string> {
    return { Cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '), Referer: `${this.base}/` };
  }

  private async follow(first: { status: number; headers: Record<string, unknown>; data: string }, path: string): Promise<Page> {
    let r = first;
    const hops = [path];
    for (let i = 0; i < 10 && r.status >= 300 && r.status < 400; i++) {
      const loc = new URL(String(r.headers.location), `${this.base}${path}`);
      path = loc.pathname + loc.search;
      hops.push(path);
      r = await this.http.get(path, { headers: this.headers() });
      this.keep(r.headers['set-cookie'] as string[] | undefined);
    }
    return { status: r.status, path, body: r.data, hops };
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Page> {
    const r = await this.http.get(path, { headers: { ...this.headers(), ...headers } });
    this.keep(r.headers['set-cookie'] as string[] | undefined);
    return this.follow(r, path);
  }

  /** POSTs a form (fields as a browser sends them: repeated names allowed) with the page's CSRF token. */
  async post(path: string, fields: Array<[string, string]>, headers: Record<string, string> = {}): Promise<Page> {
    const form = new URLSearchParams(fields);
    if (!form.has('csrfmiddlewaretoken')) form.set('csrfmiddlewaretoken', this.jar.get('csrftoken') ?? '');
    const r = await this.http.post(path, form.toString(), {
      headers: { ...this.headers(), 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    });
    this.keep(r.headers['set-cookie'] as string[] | undefined);
    return this.follow(r, path);
  }

  /** The login form as a user fills it in (Default domain: Horizon shows no domain field). */
  async login(user: string, password: string): Promise<Page> {
    const page = await this.get('/auth/login/');
    if (page.status !== 200) throw new Error(`GET /auth/login/: HTTP ${page.status}`);
    const fields = formFields(page.body, 'login');
    const set = (k: string, v: string) => {
      const f = fields.find((x) => x[0] === k);
      if (f) f[1] = v;
      else fields.push([k, v]);
    };
    set('username', user);
    set('password', password);
    set('next', '/project/');
    return this.post('/auth/login/', fields);
  }
}

const decode = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');

/** The visible text of an HTML fragment, whitespace collapsed. */
export function text(html: string): string {
  return decode(html.replace(/<script[\s\S]*?<\/script>/gi, ' ').replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

/** The messages Horizon rendered at a level (django messages: error → alert-danger), as text. */
export function banners(html: string, level: 'danger' | 'warning' | 'success' | 'info'): string[] {
  return [...html.matchAll(new RegExp(`<div class="alert alert-${level} alert-dismissable[^"]*">([\\s\\S]*?)</div>`, 'g'))].map((m) => text(m[1]!));
}

/** The error banners ("Error: Unable to retrieve ...") Horizon rendered, as text. */
export const errorBanners = (html: string): string[] => banners(html, 'danger');

/** The cells (visible text) of the table row whose id is `<table>__row__<rowId>`, or undefined. */
export function tableRow(html: string, table: string, rowId: string): string[] | undefined {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`<tr[^>]*id="${esc(table)}__row__${esc(rowId)}"[^>]*>([\\s\\S]*?)</tr>`).exec(html);
  if (!m) return undefined;
  return [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => text(c[1]!));
}

/** The <dt>label</dt><dd>value</dd> pairs of a detail page's overview. */
export function definitions(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<dt>([\s\S]*?)<\/dt>\s*<dd>([\s\S]*?)<\/dd>/g)) out[text(m[1]!)] = text(m[2]!);
  return out;
}

/**
 * The fields a browser would submit from the first <form> whose id/action contains `which`:
 * inputs (checked checkboxes/radios only), selects (selected option, else the first), textareas.
 */
export function formFields(html: string, which: string): Array<[string, string]> {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const form = forms.find((f) => f[1]!.includes(which)) ?? forms[0];
  if (!form) throw new Error(`no form (${which}) in the page`);
  const attr = (tag: string, name: string) => {
    const m = new RegExp(`\\b${name}="([^"]*)"`).exec(tag);
    return m ? decode(m[1]!) : undefined;
  };
  const out: Array<[string, string]> = [];
  for (const m of form[2]!.matchAll(/<input\b[^>]*>|<select\b[^>]*>[\s\S]*?<\/select>|<textarea\b[^>]*>[\s\S]*?<\/textarea>/g)) {
    const tag = m[0];
    const name = attr(tag, 'name');
    if (!name) continue;
    if (tag.startsWith('<input')) {
      const type = (attr(tag, 'type') ?? 'text').toLowerCase();
      if ((type === 'checkbox' || type === 'radio') && !/\bchecked\b/.test(tag)) continue;
      if (type === 'submit' || type === 'button') continue;
      out.push([name, attr(tag, 'value') ?? (type === 'checkbox' ? 'on' : '')]);
    } else if (tag.startsWith('<select')) {
      const options = [...tag.matchAll(/<option\b([^>]*)>/g)];
      const chosen = options.find((o) => /\bselected\b/.test(o[1]!)) ?? options[0];
      if (chosen) out.push([name, attr(chosen[1]!, 'value') ?? '']);
    } else {
      out.push([name, decode(/>([\s\S]*?)<\/textarea>/.exec(tag)?.[1] ?? '')]);
    }
  }
  return out;
}

/** The <option value> → label pairs of the select named `name`. */
export function selectOptions(html: string, name: string): Array<[string, string]> {
  const m = new RegExp(`<select\\b[^>]*name="${name}"[^>]*>([\\s\\S]*?)</select>`).exec(html);
  if (!m) return [];
  return [...m[1]!.matchAll(/<option\b[^>]*value="([^"]*)"[^>]*>([\s\S]*?)<\/option>/g)].map((o) => [decode(o[1]!), text(o[2]!)]);
}

/** Why the lab Horizon cannot be used (or undefined when it answers with its login page); with `browser`, Chromium too. */
export async function horizonAvailable(o: { browser?: boolean } = {}): Promise<string | undefined> {
  const chromium = o.browser ? chromiumMissing() : undefined;
  if (chromium) return chromium;
  try {
    const r = await axios.get(`${HORIZON_URL}/auth/login/`, { timeout: 10_000, validateStatus: () => true });
    if (r.status !== 200 || !String(r.data).includes('OpenStack Dashboard')) return `GET ${HORIZON_URL}/auth/login/: HTTP ${r.status}`;
  } catch (err) {
    return `${HORIZON_URL}: ${(err as Error).message}`;
  }
  const cloud = await cloudAvailable();
  return cloud ? `the cloud lab's Nova, Neutron, Cinder (Horizon's flavors, networks, volume types): ${cloud}` : undefined;
}

/**
 * Like cloudTest: the Horizon lab must be up (npm test brings it up, with Chromium for `browser`
 * tests); a skip only with TROVE_TEST_SKIP_LAB=1.
 */
export async function horizonTest(test: TestFn, o: { browser?: boolean } = {}): Promise<TestFn> {
  const missing = await horizonAvailable(o);
  if (!missing) return test;
  if (testSetting('TROVE_TEST_SKIP_LAB', '') === '1') return skipAll(test);
  test.before(() => {
    throw new Error(`the Horizon lab is not up (${missing}): run tools/lab/horizon.sh up`);
  });
  return test;
}
