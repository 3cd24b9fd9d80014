/*
 * A tiny element builder. Every piece of data goes in as text (textContent / attribute), never as
 * HTML: task errors and hive names are caller-controlled strings.
 */
type Child = Node | string | number | null | undefined | false;

export function h(tag: string, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Replace a section's content in one step (no flicker, no stale rows). */
export function fill(id: string, ...children: Child[]): void {
  const el = document.getElementById(id);
  if (!el) return;
  el.replaceChildren(
    ...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))),
  );
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function ago(at: number, now = Date.now()): string {
  const s = Math.max(0, (now - at) / 1000);
  if (s < 10) return `${s.toFixed(1)} s ago`;
  if (s < 120) return `${Math.round(s)} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function ms(d: number): string {
  return d < 1000 ? `${Math.round(d)} ms` : `${(d / 1000).toFixed(d < 10_000 ? 2 : 1)} s`;
}

/** A horizontal bar: fraction filled, with a class for how full it is. */
export function bar(fraction: number, label: string, cls = ''): HTMLElement {
  const f = Math.max(0, Math.min(1, fraction));
  const level = f >= 0.9 ? 'hot' : f >= 0.7 ? 'warm' : 'ok';
  const fillEl = h('span', { class: `bar-fill ${level}` });
  fillEl.style.width = `${(f * 100).toFixed(1)}%`;
  return h('span', { class: `bar ${cls}`, title: label }, fillEl, h('span', { class: 'bar-label' }, label));
}
