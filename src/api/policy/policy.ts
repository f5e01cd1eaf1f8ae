// Trove's authorization policy: the built-in defaults (defaults.ts), overridden rule by rule by an
// operator's YAML or JSON file ([oslo_policy] policy_file), each rule parsed once at load and then
// evaluated against the caller and the target as oslo.policy does.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, PolicyNotAuthorizedError } from '../../common/errors.js';
import type { RequestContext } from '../../common/context.js';
import type { Authorizer } from '../authorizer.js';
import { credentialsOf, isRequestContext, targetOf, type Credentials, type Target } from './credentials.js';
import { DEFAULT_RULES, RENAMED_RULES } from './defaults.js';
import { evaluate } from './evaluate.js';
import { parseRule, referencedRules, type Rule } from './parser.js';

export type { Credentials, Target } from './credentials.js';

export interface PolicyOptions {
  /** Trove's [DEFAULT] admin_roles: a caller with any of these roles is an administrator (is_admin). */
  adminRoles?: readonly string[];
  /** Where the rules came from, for error messages. */
  origin?: string;
}

/** oslo's [oslo_policy] policy_default_rule: the rule an unknown action or `rule:NAME` falls back to. */
const DEFAULT_RULE = 'default';

export class Policy implements Authorizer {
  private readonly rules = new Map<string, Rule>();
  private readonly adminRoles: ReadonlySet<string>;

  /** Parses every rule; a malformed or circular one throws ConfigError naming it. */
  constructor(definitions: Readonly<Record<string, unknown>>, options: PolicyOptions = {}) {
    const origin = options.origin ?? 'policy';
    this.adminRoles = new Set((options.adminRoles ?? []).map((r) => r.toLowerCase()));
    for (const [name, text] of Object.entries(definitions)) {
      if (typeof text !== 'string') {
        throw new ConfigError(`${origin}: rule "${name}": expected a rule string, not ${JSON.stringify(text)}`);
      }
      try {
        this.rules.set(name, parseRule(text));
      } catch (err) {
        throw new ConfigError(`${origin}: rule "${name}": ${(err as Error).message}`);
      }
    }
    this.rejectCycles(origin);
  }

  /** The built-in defaults, with the rules of `file` (YAML or JSON) replacing them by name. */
  static load(file?: string, options: Omit<PolicyOptions, 'origin'> = {}): Policy {
    if (!file) return new Policy(DEFAULT_RULES, options);
    const origin = `policy file ${file}`;
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${origin}: ${(err as Error).message}`);
    }
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError(`${origin}: expected a mapping of rule names to rules`);
    }
    return new Policy({ ...DEFAULT_RULES, ...(parsed as Record<string, unknown> | null) }, { ...options, origin });
  }

  /** Whether `action` is allowed; an action with no rule is checked against `default`. */
  enforce(action: string, creds: Credentials, target?: Target): boolean {
    const rule = this.rules.get(action) ?? this.renamed(action) ?? this.resolve(action);
    if (!rule) return false;
    return evaluate(rule, { creds: this.view(creds), target: targetOf(target, creds), resolve: (n) => this.resolve(n) });
  }

  /**
   * Throws PolicyNotAuthorizedError (403) unless `action` is allowed. `who` is a RequestContext or
   * Credentials; `target` a project id (→ {tenant: id}) or a target object; absent → the caller's project.
   */
  authorize(action: string, who: RequestContext | Credentials, target?: Target | string): void {
    const creds = isRequestContext(who) ? credentialsOf(who) : who;
    if (!this.enforce(action, creds, targetOf(target, creds))) throw new PolicyNotAuthorizedError(action);
  }

  /** Trove's check_is_admin: admin_roles when configured, else the `context_is_admin` rule. */
  isAdmin(creds: Credentials): boolean {
    if (this.adminRoles.size > 0) return this.hasAdminRole(creds);
    return this.rules.has('context_is_admin') && this.enforce('context_is_admin', creds);
  }

  /** The rule names this policy defines (defaults and the file's own). */
  names(): string[] {
    return [...this.rules.keys()];
  }

  private hasAdminRole(creds: Credentials): boolean {
    return creds.roles.some((r) => this.adminRoles.has(r.toLowerCase()));
  }

  /** The credentials a rule sees: oslo.context's aliases (tenant, project, user), is_admin from admin_roles. */
  private view(creds: Credentials): Record<string, unknown> {
    return {
      tenant: creds.project_id,
      project: creds.project_id,
      user: creds.user_id,
      ...creds,
      is_admin: creds.is_admin === true || this.hasAdminRole(creds),
    };
  }

  private renamed(action: string): Rule | undefined {
    const name = RENAMED_RULES[action];
    return name === undefined ? undefined : this.rules.get(name);
  }

  /** A rule by name, falling back to `default` as oslo's Rules.__missing__. */
  private resolve(name: string): Rule | undefined {
    return this.rules.get(name) ?? this.rules.get(DEFAULT_RULE);
  }

  /** oslo recurses forever on `a: rule:b`, `b: rule:a`; refuse such a policy at load instead. */
  private rejectCycles(origin: string): void {
    const done = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      const actual = this.rules.has(name) ? name : DEFAULT_RULE;
      const rule = this.rules.get(actual);
      if (!rule || done.has(actual)) return;
      if (path.includes(actual)) {
        const cycle = [...path.slice(path.indexOf(actual)), actual].join(' → ');
        throw new ConfigError(`${origin}: rule "${actual}" refers back to itself (${cycle})`);
      }
      for (const ref of referencedRules(rule)) visit(ref, [...path, actual]);
      done.add(actual);
    };
    for (const name of this.rules.keys()) visit(name, []);
  }
}
