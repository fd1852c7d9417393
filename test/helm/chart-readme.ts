import { parse as parseYaml } from 'yaml';

/** Markdown table cell: pipes escaped, newlines folded. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function valueAt(values: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values);
}

/**
 * The chart README's parameter tables, one per `## @section`, from the `## @param <path> <description>` comments
 * of values.yaml and the defaults the file sets.
 */
export function parameterTables(valuesText: string): string {
  const values = parseYaml(valuesText) as unknown;
  const out: string[] = [];
  let open = false;
  for (const line of valuesText.split(/\r?\n/)) {
    const section = /^## @section (.+)$/.exec(line);
    if (section) {
      out.push('', `### ${section[1].trim()}`, '', '| name | description | default |', '|---|---|---|');
      open = true;
      continue;
    }
    const param = /^\s*## @param (\S+) (.+)$/.exec(line);
    if (!param) continue;
    if (!open) throw new Error(`@param ${param[1]} comes before any @section`);
    const def = JSON.stringify(valueAt(values, param[1]) ?? null);
    out.push(`| \`${param[1]}\` | ${cell(param[2].trim())} | \`${cell(def)}\` |`);
  }
  return out.join('\n').trim() + '\n';
}

export const TABLE_START = '<!-- parameters: generated from values.yaml, do not edit by hand -->';
export const TABLE_END = '<!-- end of parameters -->';

/** The README with its parameter tables replaced by the ones values.yaml gives. */
export function withParameterTables(readme: string, valuesText: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`the chart README needs ${TABLE_START} ... ${TABLE_END}`);
  return `${readme.slice(0, start + TABLE_START.length)}\n\n${parameterTables(valuesText)}\n${readme.slice(end)}`;
}
