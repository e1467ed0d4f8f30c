// A workflow's stages and transitions as an SVG arc diagram: stages top to bottom in file
// order, moves forward drawn on the right, moves back on the left, automatic moves dashed.

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function diagram(def) {
  const stages = def.stages || [];
  const index = new Map(stages.map((s, i) => [s.name, i]));
  const edges = [];
  for (const s of stages) {
    for (const a of s.actions || []) {
      if (a.to && a.to !== s.name && index.has(a.to)) edges.push({ from: s.name, to: a.to, label: a.name, auto: false });
    }
    for (const [event, to] of Object.entries(s.on || {})) {
      if (index.has(to) && to !== s.name) edges.push({ from: s.name, to, label: event.replace(/^recognition_/, ''), auto: true });
    }
  }
  const BOX_X = 230;
  const BOX_W = 200;
  const BOX_H = 38;
  const GAP = 62;
  const top = 20;
  const y = (name) => top + index.get(name) * GAP + BOX_H / 2;
  const height = top * 2 + stages.length * GAP + 30;
  const svg = el('svg', { viewBox: `0 0 660 ${height}`, width: '100%', role: 'img', class: 'diagram',
    'aria-label': `Workflow ${def.name}: ${stages.length} stages, ${edges.length} transitions` });
  const defs = el('defs');
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
    orient: 'auto-start-reverse' });
  marker.append(el('path', { d: 'M0 0 L10 5 L0 10 z', class: 'arrowhead' }));
  defs.append(marker);
  svg.append(defs, el('title', {}, `Workflow ${def.name}`));

  const fwdSlots = {};
  const backSlots = {};
  edges.forEach((e) => {
    const y1 = y(e.from);
    const y2 = y(e.to);
    const forward = y2 > y1;
    const span = Math.abs(index.get(e.to) - index.get(e.from));
    const slots = forward ? fwdSlots : backSlots;
    const slot = (slots[span] = (slots[span] || 0) + 1);
    const reach = 24 + span * 14 + slot * 10;
    const x = forward ? BOX_X + BOX_W : BOX_X;
    const cx = forward ? x + reach : x - reach;
    const off = forward ? 5 : -5;
    const path = el('path', {
      d: `M ${x} ${y1 + off} C ${cx} ${y1 + off}, ${cx} ${y2 - off}, ${x} ${y2 - off}`,
      class: e.auto ? 'edge auto' : 'edge', 'marker-end': 'url(#arrow)',
    });
    path.append(el('title', {}, `${e.from} → ${e.to} (${e.label})`));
    svg.append(path);
    const lx = forward ? x + reach * 0.75 + 4 : x - reach * 0.75 - 4;
    const ly = (y1 + y2) / 2 + 4 + (slot - 1) * 12;
    svg.append(el('text', { x: lx, y: ly, class: 'edge-label', 'text-anchor': forward ? 'start' : 'end' },
      e.label));
  });

  stages.forEach((s, i) => {
    const g = el('g', { class: `stage ${s.kind}` });
    g.append(el('rect', { x: BOX_X, y: top + i * GAP, width: BOX_W, height: BOX_H, rx: 6 }));
    g.append(el('text', { x: BOX_X + BOX_W / 2, y: top + i * GAP + 16, 'text-anchor': 'middle', class: 'stage-name' },
      s.label || s.name));
    g.append(el('text', { x: BOX_X + BOX_W / 2, y: top + i * GAP + 31, 'text-anchor': 'middle', class: 'stage-sub' },
      `${s.name} · ${s.kind}${s.name === def.start ? ' · start' : ''}`));
    svg.append(g);
  });
  const common = (def.common_actions || []).filter((a) => a.to).map((a) => `${a.name} → ${a.to}`);
  if (common.length) {
    svg.append(el('text', { x: 10, y: height - 10, class: 'edge-label' }, `From every open stage: ${common.join(', ')}`));
  }
  return svg;
}
