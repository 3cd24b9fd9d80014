/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line must be
 * a `# HELP name text`, a `# TYPE name counter|gauge|histogram|summary|untyped`, or a sample
 * `name{label="value",…} number`; a sample's family must have been TYPEd before it, label values
 * must be properly escaped, names must match the spec's alphabet. Throws naming the bad line.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const bad = (why: string) => new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    if (line === '') return;
    if (line.startsWith('# HELP ')) {
      const name = line.slice(7).split(' ')[0] ?? '';
      if (!NAME.test(name)) throw bad('bad metric name in HELP');
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, ...rest] = line.slice(7).split(' ');
      if (!name || !NAME.test(name) || !type || !TYPES.has(type) || rest.length > 0) throw bad('bad TYPE line');
      if (types.has(name)) throw bad('family TYPEd twice');
      types.set(name, type);
      return;
    }
    if (line.startsWith('#')) return; // other comments are allowed
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw bad('not a sample');
    const name = m[1]!;
    const labels = m[3] === undefined ? {} : parseLabels(m[3], bad);
    const value = parseValue(m[4]!, bad);
    if (!types.has(familyOf(name, types))) throw bad('sample before its TYPE');
    samples.push({ name, labels, value });
  });
  return { types, samples };
}

/** Histogram and counter samples carry suffixes (_bucket, _sum, _count, _total) of their family. */
function familyOf(name: string, types: Map<string, string>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  }
  return name;
}

function parseLabels(s: string, bad: (why: string) => Error): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq < 0) throw bad('label without =');
    const key = s.slice(i, eq);
    if (!LABEL.test(key)) throw bad(`bad label name ${key}`);
    if (s[eq + 1] !== '"') throw bad('label value not quoted');
    let j = eq + 2;
    let v = '';
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\') {
        const e = s[++j];
        if (e === 'n') v += '\n';
        else if (e === '\\' || e === '"') v += e;
        else throw bad('bad escape in label value');
      } else v += s[j];
    }
    if (s[j] !== '"') throw bad('unterminated label value');
    if (Object.hasOwn(out, key)) throw bad(`label ${key} twice`);
    out[key] = v;
    i = j + 1;
    if (s[i] === ',') i++;
    else if (i < s.length) throw bad('labels not separated by commas');
  }
  return out;
}

function parseValue(s: string, bad: (why: string) => Error): number {
  // Special values as Go's ParseFloat reads them (the format's definition): case-insensitive, so
  // prom-client's "Nan" (an event-loop lag with no sample yet) is valid.
  if (/^\+?inf(inity)?$/i.test(s)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(s)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(s)) return Number.NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw bad(`bad value ${s}`);
  return Number(s);
}

/** The value of the one sample with this name and these labels (a subset match), or undefined. */
export function sampleValue(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = e.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value;
}
