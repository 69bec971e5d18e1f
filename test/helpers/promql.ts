/**
 * The metric names a PromQL expression reads, for checking dashboards and alerting rules against
 * what `/metrics` really exports. Strings, label matchers, range and subquery brackets, grouping
 * label lists, function names, keywords and numbers (durations included) are not metric names.
 */

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2', 'start', 'end']);

/** Metric names in `expr`, in order of appearance (duplicates kept). */
export function metricNames(expr: string): string[] {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  e = e.replace(/\{[^}]*\}/g, ' ');
  e = e.replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out: string[] = [];
  for (const m of e.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const at = m.index;
    if (at > 0 && /[0-9.$]/.test(e[at - 1]!)) continue; // 1e-9, 5m, $variables
    if (/^\s*\(/.test(e.slice(at + m[0].length))) continue; // a function call
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    out.push(m[0]);
  }
  return out;
}

/** Metric names a Prometheus text exposition declares (`# TYPE`), with the series names of histograms and summaries. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
  }
  return names;
}
