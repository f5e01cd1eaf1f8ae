// Writes INI text for the processes that read it with reader.ts (the `ini` package both ways):
// the package quotes or escapes what would otherwise end a value (`;`, `#`, `=`, quotes, leading
// or trailing blanks, line breaks). Each value is read back before the text is returned: one the
// format cannot carry (the package reads `\\`, `\;` and `\#` as escapes) is an error naming its
// key, never a file that reads back otherwise.
import { stringify } from 'ini';
import { ConfigError } from '../errors.js';
import { parseIni } from './reader.js';

/** section → key → value; an undefined value is left out. */
export type IniSections = Record<string, Record<string, string | number | undefined>>;

/** The sections as INI text (`key = value`), after a `# comment` line when one is given. */
export function renderIni(sections: IniSections, comment?: string): string {
  const values: Record<string, Record<string, string>> = {};
  for (const [name, keys] of Object.entries(sections)) {
    values[name] = {};
    for (const [k, v] of Object.entries(keys)) if (v !== undefined) values[name][k] = String(v);
  }
  const text = `${comment ? `# ${comment.replace(/[\r\n]+/g, ' ')}\n` : ''}${stringify(values, { whitespace: true })}`;
  const back = parseIni(text, 'the written text');
  for (const [name, keys] of Object.entries(values))
    for (const [k, v] of Object.entries(keys))
      if (back[name]?.[k] !== v) throw new ConfigError(`[${name}] ${k}: a value the INI format cannot carry (a backslash before '\\', ';' or '#')`);
  return text;
}
