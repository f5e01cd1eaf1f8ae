// Every secret a control-plane suite handles, gathered while it runs, and every log line its
// services and guest agents wrote: the passwords in its API requests and answers (any
// `password`-like field), each
// guest's bus password and keys (read from the guest configs the local compute driver writes),
// the service keys of its config; the logs of the in-process services and each agent's agent.log
// (read while the instance exists: a deleted instance's directory goes with it). At the end,
// scanLogs over all of it: a hit fails the suite, naming the secret's label only.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AxiosInstance } from 'axios';
import { parseIni } from '../../src/common/config/reader.js';
import { scanLogs, type LogScan, type Secrets } from './log-scan.js';

const SECRET_KEY = /(password|_key|token|secret)$/i;

export class SecretWatch {
  readonly secrets: Secrets = {};
  private readonly agentLogs = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly serversDir: string) {
    this.timer = setInterval(() => this.collect(), 1000);
    this.timer.unref();
  }

  add(label: string, value: unknown): void {
    if (typeof value === 'string' && value.length >= 6) this.secrets[label] = value;
  }

  /** Records every `password`-like string field of each request body the client sends. */
  watch(http: AxiosInstance): void {
    let n = 0;
    const walk = (v: unknown, where: string): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (SECRET_KEY.test(k)) this.add(`request ${++n} ${where}.${k}`, x);
          else walk(x, `${where}.${k}`);
        }
      }
    };
    http.interceptors.request.use((c) => {
      walk(typeof c.data === 'string' ? safeJson(c.data) : c.data, 'body');
      return c;
    });
    // and the ones the API answers with (a root password it made)
    http.interceptors.response.use((r) => {
      walk(r.data, 'response');
      return r;
    });
  }

  /** Each guest config's secrets (its bus URL's password, its keys) and each agent log so far. */
  collect(): void {
    if (!existsSync(this.serversDir)) return;
    for (const id of readdirSync(this.serversDir)) {
      const dir = path.join(this.serversDir, id);
      try {
        const conf = path.join(dir, 'guest.conf');
        if (existsSync(conf)) {
          // read as the agent reads it (quoted and escaped values as they are meant)
          for (const [key, value] of Object.entries(parseIni(readFileSync(conf, 'utf8'), conf).DEFAULT ?? {})) {
            if (SECRET_KEY.test(key)) this.add(`${id} ${key}`, value);
            const url = /^[a-z]+:\/\/[^:/@]*:([^@]+)@/.exec(value);
            if (url) this.add(`${id} ${key} password`, decodeURIComponent(url[1]!));
          }
        }
        // a local agent's log; a qemu VM's serial console (kernel, boot and agent lines)
        for (const name of ['agent.log', 'console.log']) {
          const log = path.join(dir, name);
          if (existsSync(log)) this.agentLogs.set(log, readFileSync(log, 'utf8'));
        }
      } catch {
        /* a directory being written or removed */
      }
    }
  }

  scan(serviceLogs: string[]): LogScan {
    clearInterval(this.timer);
    this.collect();
    return scanLogs([serviceLogs, ...this.agentLogs.values()], this.secrets);
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
