// Transcription controls as a foot pedal gives them, on the keyboard: play/pause, rewind,
// fast-forward, slower, faster, with an automatic short rewind on resume. Keys and times are
// configurable and kept in this browser (no patient data).

import { h, fill } from './ui.js';
import { PedalPanel } from './pedals.js';

export const ACTIONS = [
  { id: 'playPause', label: 'Play / pause', key: 'F8' },
  { id: 'rewind', label: 'Rewind', key: 'F7' },
  { id: 'forward', label: 'Fast-forward', key: 'F9' },
  { id: 'slower', label: 'Slower', key: 'Alt+ArrowDown' },
  { id: 'faster', label: 'Faster', key: 'Alt+ArrowUp' },
];
const STORE = 'dictaflow.transport';
const DEFAULTS = { skipSeconds: 3, resumeRewindSeconds: 1, holdToPlay: false, keys: Object.fromEntries(ACTIONS.map((a) => [a.id, a.key])) };

export function loadSettings() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) || '{}');
    return { ...DEFAULTS, ...saved, keys: { ...DEFAULTS.keys, ...(saved.keys || {}) } };
  } catch (e) {
    return { ...DEFAULTS, keys: { ...DEFAULTS.keys } };
  }
}

function saveSettings(s) {
  try { localStorage.setItem(STORE, JSON.stringify(s)); } catch (e) { /* private mode: keep in memory */ }
}

/** "Ctrl+Alt+Shift+Key" for a keydown event. */
export function keyName(ev) {
  const key = ev.key === ' ' ? 'Space' : ev.key.length === 1 ? ev.key.toUpperCase() : ev.key;
  return [ev.ctrlKey && 'Ctrl', ev.metaKey && 'Meta', ev.altKey && 'Alt', ev.shiftKey && 'Shift', key]
    .filter(Boolean).join('+');
}

export class Transport {
  constructor(audio, settings = loadSettings()) {
    this.audio = audio;
    this.settings = settings;
    this.onchange = () => {};
    this.onKey = (ev) => this.handle(ev);
    this.onKeyUp = (ev) => this.handleUp(ev);
    document.addEventListener('keydown', this.onKey, true);
    document.addEventListener('keyup', this.onKeyUp, true);
  }

  detach() {
    document.removeEventListener('keydown', this.onKey, true);
    document.removeEventListener('keyup', this.onKeyUp, true);
    if (this.pedals) this.pedals.detach();
  }

  /** Hold-to-play on the keyboard: releasing the play key pauses. */
  handleUp(ev) {
    if (this.capturing || !this.settings.holdToPlay) return;
    const name = keyName(ev);
    if (this.settings.keys.playPause === name || this.settings.keys.playPause.endsWith(`+${name}`)) {
      ev.preventDefault();
      this.audio.pause();
    }
  }

  handle(ev) {
    if (this.capturing) return false;
    const name = keyName(ev);
    const action = Object.entries(this.settings.keys).find(([, k]) => k === name);
    if (!action) return false;
    ev.preventDefault();
    ev.stopPropagation();
    // Holding rewind or fast-forward keeps skipping; a held play/pause does not toggle.
    if (ev.repeat && !['rewind', 'forward'].includes(action[0])) return true;
    if (action[0] === 'playPause' && this.settings.holdToPlay) this.play();
    else this[action[0]]();
    return true;
  }

  playPause() {
    if (this.audio.paused) this.play();
    else this.audio.pause();
  }

  /** Plays (if paused), first rewinding a little as a resume does. */
  play() {
    const a = this.audio;
    if (!a.paused) return;
    if (a.currentTime > 0) a.currentTime = Math.max(0, a.currentTime - this.settings.resumeRewindSeconds);
    a.play().catch(() => {});
  }

  rewind() { this.audio.currentTime = Math.max(0, this.audio.currentTime - this.settings.skipSeconds); }

  forward() {
    const a = this.audio;
    const end = Number.isFinite(a.duration) ? a.duration : Infinity;
    a.currentTime = Math.min(end, a.currentTime + this.settings.skipSeconds);
  }

  slower() { this.setRate(this.audio.playbackRate - 0.1); }

  faster() { this.setRate(this.audio.playbackRate + 0.1); }

  setRate(r) {
    this.audio.playbackRate = Math.round(Math.min(2, Math.max(0.5, r)) * 10) / 10;
    this.onchange();
  }

  /** The on-screen list of controls, each key changeable by pressing the new key. */
  panel() {
    this.pedals = new PedalPanel(this);
    const box = h('section.transport', { 'aria-labelledby': 'transport-h' });
    const rate = h('output', { id: 'rate', 'aria-live': 'polite' });
    const showRate = () => { rate.textContent = `${this.audio.playbackRate.toFixed(1)}×`; };
    this.audio.addEventListener('ratechange', showRate);
    this.onchange = showRate;
    const render = () => {
      const rows = ACTIONS.map((a) => {
        const btn = h('button.secondary.small', { type: 'button', 'aria-label': `Change the key for ${a.label}` },
          'Change');
        btn.addEventListener('click', () => this.capture(a, btn, render));
        return h('tr', h('th', { scope: 'row' }, a.label), h('td', h('kbd', this.settings.keys[a.id])), h('td', btn));
      });
      const holdBox = h('input', { type: 'checkbox', id: 't-holdToPlay', checked: this.settings.holdToPlay });
      holdBox.addEventListener('change', () => { this.settings.holdToPlay = holdBox.checked; saveSettings(this.settings); });
      const hold = h('div.field.inline', holdBox, h('label', { for: 't-holdToPlay' }, 'Hold the play key to listen'));
      const num = (key, labelText) => {
        const input = h('input', { type: 'number', min: 0, max: 30, step: 0.5, value: this.settings[key],
          id: `t-${key}` });
        input.addEventListener('change', () => {
          const v = Number(input.value);
          if (Number.isFinite(v) && v >= 0 && v <= 30) { this.settings[key] = v; saveSettings(this.settings); }
        });
        return h('div.field.inline', h('label', { for: input.id }, labelText), input);
      };
      fill(box,
        h('h2', { id: 'transport-h' }, 'Transcription controls'),
        h('table.keys', h('tbody', rows)),
        num('skipSeconds', 'Rewind / fast-forward (seconds)'),
        num('resumeRewindSeconds', 'Rewind on resume (seconds)'),
        hold,
        h('p', 'Speed: ', rate),
        h('button.secondary.small', { type: 'button', on: { click: () => {
          this.settings = { ...DEFAULTS, keys: { ...DEFAULTS.keys } };
          saveSettings(this.settings);
          render();
        } } }, 'Reset to defaults'),
        this.pedals.element);
      showRate();
    };
    render();
    return box;
  }

  capture(action, btn, done) {
    this.capturing = true;
    btn.textContent = 'Press a key…';
    const onKey = (ev) => {
      if (['Control', 'Alt', 'Shift', 'Meta'].includes(ev.key)) return;
      ev.preventDefault();
      ev.stopPropagation();
      document.removeEventListener('keydown', onKey, true);
      this.capturing = false;
      if (ev.key !== 'Escape') {
        this.settings.keys[action.id] = keyName(ev);
        saveSettings(this.settings);
      }
      done();
    };
    document.addEventListener('keydown', onKey, true);
  }
}
