// Spell-check of the letter textarea: after typing pauses the text is checked by the server
// (British word list and the clinical lexicon); misspelt words are underlined in a layer
// behind the textarea, and clicking one offers its suggestions. Offsets are UTF-16 code
// units, as JavaScript strings index.

import { api } from './api.js';
import { h, fill } from './ui.js';

const PAUSE_MS = 800;

export class SpellCheck {
  constructor(area, dictationId, onReplace) {
    this.area = area;
    this.id = dictationId;
    this.onReplace = onReplace;
    this.issues = [];
    this.timer = 0;
    this.seq = 0;
    this.layer = h('div.spell-layer', { 'aria-hidden': 'true' });
    this.menu = h('div.spell-menu', { id: 'spell-menu', role: 'group', 'aria-label': 'Spelling suggestions', hidden: true });
    this.wrap = h('div.spell-wrap');
    this.onInput = () => { this.render([]); this.schedule(); };
    this.onScroll = () => { this.layer.scrollTop = this.area.scrollTop; };
    this.onClick = () => this.offer();
    area.addEventListener('input', this.onInput);
    area.addEventListener('scroll', this.onScroll);
    area.addEventListener('click', this.onClick);
    area.addEventListener('keyup', (e) => { if (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10')) this.offer(); });
  }

  /** Wraps the textarea with the underline layer; returns the element to insert. */
  mount() {
    this.area.replaceWith(this.wrap);
    this.wrap.append(this.layer, this.area);
    this.wrap.after(this.menu);
    this.schedule(0);
    return this.wrap;
  }

  dispose() {
    clearTimeout(this.timer);
    this.area.removeEventListener('input', this.onInput);
  }

  schedule(ms = PAUSE_MS) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), ms);
  }

  async check() {
    const text = this.area.value;
    const seq = ++this.seq;
    try {
      const r = await api('spellcheck', { method: 'POST', json: { text, dictation_id: this.id } });
      if (seq === this.seq && this.area.value === text) this.render(r.issues);
    } catch {
      // Spell-check is a help: the editor works without it.
    }
  }

  render(issues) {
    this.issues = issues;
    const text = this.area.value;
    const parts = [];
    let at = 0;
    for (const i of issues) {
      parts.push(text.slice(at, i.start), h('mark.misspelt', { dataset: { start: i.start } }, text.slice(i.start, i.end)));
      at = i.end;
    }
    parts.push(text.slice(at), '\n');
    fill(this.layer, parts);
    this.layer.scrollTop = this.area.scrollTop;
    if (!issues.length) this.menu.hidden = true;
  }

  offer() {
    const pos = this.area.selectionStart;
    const issue = this.issues.find((i) => pos >= i.start && pos <= i.end);
    if (!issue) { this.menu.hidden = true; return; }
    const choices = issue.suggestions.length
      ? issue.suggestions.map((s) => h('button.secondary.small', { type: 'button', on: { click: () => this.accept(issue, s) } }, s))
      : [h('span.muted', 'No suggestions.')];
    fill(this.menu, h('span', `“${issue.word}”: `), ...choices);
    this.menu.hidden = false;
  }

  accept(issue, word) {
    const text = this.area.value;
    if (text.slice(issue.start, issue.end) !== issue.word) return this.schedule(0);
    this.area.value = text.slice(0, issue.start) + word + text.slice(issue.end);
    this.area.focus();
    this.area.setSelectionRange(issue.start + word.length, issue.start + word.length);
    this.menu.hidden = true;
    this.render([]);
    this.onReplace();
    this.schedule(0);
  }
}
