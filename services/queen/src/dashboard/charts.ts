import type { ColonySample } from '@apiary/protocol';

const NS = 'http://www.w3.org/2000/svg';
const W = 300;
const H = 60;

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * A small SVG chart over the queen's colony history: a line (queue depth) or bars (tasks finished
 * per interval). Inline SVG, no library: the page must work offline and stay small.
 */
export function chart(samples: ColonySample[], pick: (s: ColonySample) => number, kind: 'line' | 'bars', title: string): SVGElement {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: `chart ${kind}`, role: 'img' });
  const t = svg('title', {});
  t.textContent = title;
  root.append(t);
  if (samples.length === 0) return root;
  const values = samples.map(pick);
  const max = Math.max(1, ...values);
  const step = W / Math.max(1, samples.length - (kind === 'line' ? 1 : 0));
  const y = (v: number) => H - 2 - (v / max) * (H - 4);
  if (kind === 'line') {
    const pts = values.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points: pts, fill: 'none', class: 'line' }));
  } else {
    values.forEach((v, i) => {
      if (v > 0)
        root.append(
          svg('rect', {
            x: (i * step).toFixed(1),
            y: y(v).toFixed(1),
            width: Math.max(1, step - 1).toFixed(1),
            height: (H - 2 - y(v)).toFixed(1),
            class: 'barv',
          }),
        );
    });
  }
  const label = svg('text', { x: W - 2, y: 10, 'text-anchor': 'end', class: 'max' });
  label.textContent = `max ${max}`;
  root.append(label);
  return root;
}
