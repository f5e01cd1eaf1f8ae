// oslo.policy rule strings → a tree, parsed once at load. The language, as oslo's _parser.py:
// checks `kind:match` joined by `and`, `or`, `not` and parentheses; `and` binds tighter than `or`,
// `not` tighter than both; `@` (and the empty rule) allows, `!` refuses. A check is `rule:NAME`,
// `role:NAME`, or generic `field:VALUE` (a credential field, dotted for nested keys) where VALUE may
// hold `%(key)s` substitutions from the target. A quoted literal on the left (`'Member':%(role)s`,
// `True:%(enabled)s`) is compared with the target value instead. trove-ts also strips quotes from a
// quoted right side (`project_id:'p1'`), which oslo would compare with the quotes included.
// Where oslo logs a rule it cannot understand and refuses it, this parser throws.

export type Rule =
  | { kind: 'always' }
  | { kind: 'never' }
  | { kind: 'and'; rules: Rule[] }
  | { kind: 'or'; rules: Rule[] }
  | { kind: 'not'; rule: Rule }
  /** Another rule by name (an unknown name falls back to `default`, as oslo's Rules.__missing__). */
  | { kind: 'rule'; name: string }
  /** A role of the caller, case-insensitively; `match` may hold %(key)s substitutions. */
  | { kind: 'role'; match: string }
  /** A credential field (dot path) equal to `match` after substitution. */
  | { kind: 'field'; path: string[]; match: string }
  /** A literal (Python str() of it) equal to `match` after substitution. */
  | { kind: 'literal'; value: string; match: string };

export class PolicySyntaxError extends Error {
  override readonly name = 'PolicySyntaxError';
}

type Token = '(' | ')' | 'and' | 'or' | 'not' | { check: string };

/** Python's %-format placeholders: %(key)s or %%; anything else after a % is malformed. */
const PLACEHOLDER = /%(?:\(([^)]*)\)s|%)?/g;

/** Splits on white space, then peels "(" off the front and ")" off the end of each chunk, as oslo. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const chunk of text.split(/\s+/)) {
    if (!chunk) continue;
    const body = chunk.replace(/^\(+/, '');
    for (let i = body.length; i < chunk.length; i++) out.push('(');
    const clean = body.replace(/\)+$/, '');
    const lowered = clean.toLowerCase();
    if (lowered === 'and' || lowered === 'or' || lowered === 'not') out.push(lowered);
    else if (clean) out.push({ check: clean });
    for (let i = clean.length; i < body.length; i++) out.push(')');
  }
  return out;
}

function checkTemplate(match: string, check: string): string {
  for (const m of match.matchAll(PLACEHOLDER)) {
    if (m[0] === '%') throw new PolicySyntaxError(`"${check}": a lone "%" (write %% or %(key)s)`);
  }
  return match;
}

/** Python's str() of what ast.literal_eval would accept on the left of a generic check, or undefined. */
function literalOf(kind: string): string | undefined {
  const quoted = /^'(.*)'$|^"(.*)"$/.exec(kind);
  if (quoted) return quoted[1] ?? quoted[2] ?? '';
  if (kind === 'True' || kind === 'False' || kind === 'None') return kind;
  if (/^-?\d+$/.test(kind)) return String(BigInt(kind));
  return undefined;
}

function parseCheck(text: string): Rule {
  if (text === '@') return { kind: 'always' };
  if (text === '!') return { kind: 'never' };
  if (/^'.*'$|^".*"$/.test(text)) throw new PolicySyntaxError(`a bare string ${text} is not a check`);
  const colon = text.indexOf(':');
  if (colon <= 0) throw new PolicySyntaxError(`"${text}" is not a check (expected kind:value, @ or !)`);
  const kind = text.slice(0, colon);
  const raw = text.slice(colon + 1);
  if (kind === 'rule') {
    if (!raw) throw new PolicySyntaxError(`"${text}": no rule name`);
    return { kind: 'rule', name: raw };
  }
  if (kind === 'http' || kind === 'https') throw new PolicySyntaxError(`"${text}": http checks are not supported`);
  const match = checkTemplate(/^'.*'$|^".*"$/.test(raw) ? raw.slice(1, -1) : raw, text);
  if (kind === 'role') return { kind: 'role', match };
  const literal = literalOf(kind);
  if (literal !== undefined) return { kind: 'literal', value: literal, match };
  const path = kind.split('.');
  if (path.some((p) => !p)) throw new PolicySyntaxError(`"${text}": empty field name`);
  return { kind: 'field', path, match };
}

/** Grammar: or := and ('or' and)*; and := not ('and' not)*; not := 'not' not | '(' or ')' | check. */
export function parseRule(text: string): Rule {
  const toks = tokenize(text);
  if (toks.length === 0) return { kind: 'always' };
  let pos = 0;
  const show = (tok: Token | undefined) => (tok === undefined ? 'end of rule' : typeof tok === 'string' ? `"${tok}"` : `"${tok.check}"`);
  const parseOr = (): Rule => {
    const rules = [parseAnd()];
    while (toks[pos] === 'or') {
      pos++;
      rules.push(parseAnd());
    }
    return rules.length === 1 ? rules[0]! : { kind: 'or', rules };
  };
  const parseAnd = (): Rule => {
    const rules = [parseNot()];
    while (toks[pos] === 'and') {
      pos++;
      rules.push(parseNot());
    }
    return rules.length === 1 ? rules[0]! : { kind: 'and', rules };
  };
  const parseNot = (): Rule => {
    const tok = toks[pos++];
    if (tok === 'not') return { kind: 'not', rule: parseNot() };
    if (tok === '(') {
      const inner = parseOr();
      if (toks[pos] !== ')') throw new PolicySyntaxError(`expected ")" but found ${show(toks[pos])}`);
      pos++;
      return inner;
    }
    if (tok === undefined || typeof tok === 'string') throw new PolicySyntaxError(`unexpected ${show(tok)}`);
    return parseCheck(tok.check);
  };
  const rule = parseOr();
  if (pos !== toks.length) throw new PolicySyntaxError(`unexpected ${show(toks[pos])}`);
  return rule;
}

/** The names a rule refers to with `rule:NAME`, for cycle checks. */
export function referencedRules(rule: Rule): string[] {
  switch (rule.kind) {
    case 'rule':
      return [rule.name];
    case 'and':
    case 'or':
      return rule.rules.flatMap(referencedRules);
    case 'not':
      return referencedRules(rule.rule);
    default:
      return [];
  }
}
