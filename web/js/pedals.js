// USB foot pedals through WebHID (Chromium browsers). A pedal's input report is read as a set
// of pressed pedals (left, middle, right, top); known pedals are recognised by vendor and
// product id with their report layouts, others are taught with "press each pedal". The
// pedals drive the same transport as the keyboard: hold-to-play or tap to play/pause, and
// rewind or fast-forward for as long as a pedal is held. Settings are kept on the server for
// each user (GET/PUT /api/v1/auth/me/settings/pedal).

import { api } from './api.js';
import { h, fill, errorText } from './ui.js';

export const PEDALS = ['left', 'middle', 'right', 'top'];
export const ACTIONS = { none: 'Nothing', rewind: 'Rewind while held', play: 'Play', forward: 'Fast-forward while held' };

// Report layouts: which bit of which byte of the input report is which pedal.
// Philips ACC2310/ACC2320/ACC2330 foot controls: byte 0, bit 0 left (rewind), bit 1 middle
// (play), bit 2 right (forward), bit 3 the top pedal of the four-pedal ACC2330.
const PHILIPS = [{ pedal: 'left', byte: 0, mask: 1 }, { pedal: 'middle', byte: 0, mask: 2 },
  { pedal: 'right', byte: 0, mask: 4 }, { pedal: 'top', byte: 0, mask: 8 }];
// Infinity IN-USB-2 / IN-USB-3 (VEC): three HID buttons, byte 0 bits 0-2 (left, middle, right).
const INFINITY = [{ pedal: 'left', byte: 0, mask: 1 }, { pedal: 'middle', byte: 0, mask: 2 },
  { pedal: 'right', byte: 0, mask: 4 }];

export const KNOWN = [
  { vendorId: 0x0911, productId: 0x1844, name: 'Philips ACC2310/ACC2320 foot control', layout: PHILIPS },
  { vendorId: 0x0911, productId: 0x091a, name: 'Philips ACC2330 foot control', layout: PHILIPS },
  { vendorId: 0x05f3, productId: 0x00ff, name: 'Infinity IN-USB-2/IN-USB-3 foot pedal', layout: INFINITY },
];
// Pedals whose report layout is learnt on the spot ("press each pedal"): Olympus RS27/RS28/RS31.
export const LEARNT_VENDORS = [{ vendorId: 0x07b4, name: 'Olympus foot switch' }];

export const DEFAULT_SETTINGS = { mode: 'hold', actions: { left: 'rewind', middle: 'play', right: 'forward', top: 'none' },
  learnt: {} };

export function deviceKey(device) {
  return `${device.vendorId.toString(16).padStart(4, '0')}:${device.productId.toString(16).padStart(4, '0')}`;
}

/** The known pedal `device` is, or null. */
export function recognise(device) {
  return KNOWN.find((k) => k.vendorId === device.vendorId && k.productId === device.productId) || null;
}

/** The layout to read `device` with: known, or learnt earlier (settings.learnt), or null. */
export function layoutFor(device, settings) {
  const known = recognise(device);
  if (known) return known.layout;
  const learnt = settings.learnt && settings.learnt[deviceKey(device)];
  return learnt ? learnt.layout : null;
}

/** The set of pedals pressed in an input report (`data`: a DataView of the report bytes). */
export function parseReport(layout, data) {
  const pressed = new Set();
  for (const { pedal, byte, mask } of layout) {
    if (byte < data.byteLength && (data.getUint8(byte) & mask) !== 0) pressed.add(pedal);
  }
  return pressed;
}

/**
 * "Press each pedal": from the report at rest and the report with one pedal down, the bit
 * that changed; null when none (or more than one) did.
 */
export function learnBit(rest, down) {
  const changed = [];
  for (let i = 0; i < Math.max(rest.byteLength, down.byteLength); i += 1) {
    const a = i < rest.byteLength ? rest.getUint8(i) : 0;
    const b = i < down.byteLength ? down.getUint8(i) : 0;
    for (let bit = 0; bit < 8; bit += 1) if (((a ^ b) >> bit) & 1) changed.push({ byte: i, mask: 1 << bit });
  }
  return changed.length === 1 ? changed[0] : null;
}

/** Turns pedal presses and releases into transport actions (`transport`: transport.js). */
export class PedalControl {
  constructor(transport, settings) {
    this.transport = transport;
    this.settings = settings;
    this.down = new Set();
    this.repeat = {};
  }

  /** Applies one report's set of pressed pedals. */
  apply(pressed) {
    for (const p of PEDALS) {
      const was = this.down.has(p);
      const is = pressed.has(p);
      if (is && !was) this.press(this.settings.actions[p] || 'none', p);
      if (!is && was) this.release(this.settings.actions[p] || 'none', p);
    }
    this.down = new Set(pressed);
  }

  press(action, pedal) {
    if (action === 'play') {
      if (this.settings.mode === 'hold') this.transport.play();
      else this.transport.playPause();
    } else if (action === 'rewind' || action === 'forward') {
      const step = () => this.transport[action]();
      step();
      clearInterval(this.repeat[pedal]);
      this.repeat[pedal] = setInterval(step, 400);
    }
  }

  release(action, pedal) {
    clearInterval(this.repeat[pedal]);
    delete this.repeat[pedal];
    if (action === 'play' && this.settings.mode === 'hold') this.transport.audio.pause();
  }

  stop() {
    Object.values(this.repeat).forEach(clearInterval);
    this.repeat = {};
  }
}

/** The "Foot pedal" panel of the transcription controls. */
export class PedalPanel {
  constructor(transport) {
    this.transport = transport;
    this.settings = structuredClone(DEFAULT_SETTINGS);
    this.control = new PedalControl(transport, this.settings);
    this.devices = [];
    this.learning = null;
    this.status = h('p', { id: 'pedal-status', 'aria-live': 'polite' });
    this.element = h('section.pedal', { id: 'pedal', 'aria-labelledby': 'pedal-h' });
    // The page's handler of input reports (also what a test drives with synthetic reports).
    this.element.onInputReport = (ev) => this.onInputReport(ev);
    this.onReport = (ev) => this.onInputReport(ev);
    this.onDisconnect = (ev) => this.forgetDevice(ev.device);
    this.render();
    this.load();
  }

  async load() {
    try {
      const saved = await api('auth/me/settings/pedal');
      this.settings.mode = saved.mode === 'tap' ? 'tap' : 'hold';
      Object.assign(this.settings.actions, saved.actions || {});
      this.settings.learnt = saved.learnt || {};
    } catch (e) {
      this.status.textContent = `Pedal settings not loaded: ${errorText(e)}`;
    }
    this.render();
    if (navigator.hid && navigator.hid.getDevices) {
      // Pedals this site was allowed to use before reconnect without asking again.
      for (const d of await navigator.hid.getDevices()) this.useDevice(d);
    }
  }

  async save(done = 'Pedal settings saved.') {
    try {
      await api('auth/me/settings/pedal', { method: 'PUT', json: this.settings });
      this.status.textContent = done;
    } catch (e) {
      this.status.textContent = `Pedal settings not saved: ${errorText(e)}`;
    }
  }

  async connect() {
    if (!navigator.hid) {
      this.status.textContent = 'This browser has no WebHID: use Chrome or Edge, or the keyboard keys.';
      return;
    }
    const filters = KNOWN.map(({ vendorId, productId }) => ({ vendorId, productId }))
      .concat(LEARNT_VENDORS.map(({ vendorId }) => ({ vendorId })));
    try {
      const chosen = await navigator.hid.requestDevice({ filters });
      for (const d of chosen) await this.useDevice(d);
    } catch (e) {
      this.status.textContent = `No pedal connected: ${e.message}`;
    }
  }

  async useDevice(device) {
    if (!device.opened) await device.open();
    device.addEventListener('inputreport', this.onReport);
    if (!this.devices.includes(device)) this.devices.push(device);
    this.announce(device);
  }

  forgetDevice(device) {
    this.devices = this.devices.filter((d) => d !== device);
    this.control.apply(new Set());
    this.status.textContent = 'The pedal was disconnected.';
  }

  announce(device) {
    const known = recognise(device);
    if (known) this.status.textContent = `${known.name} connected.`;
    else if (layoutFor(device, this.settings)) this.status.textContent = `${device.productName || 'Pedal'} connected (taught).`;
    else this.startLearning(device);
  }

  /** "Press each pedal": asks for one pedal after the other and keeps the bit each changes. */
  startLearning(device) {
    this.learning = { device, layout: [] };
    this.status.textContent = `${device.productName || 'This pedal'} is not known: press and release each pedal in turn, `
      + 'starting with the left one.';
  }

  learn(ev) {
    const l = this.learning;
    // Pedals at rest report zeros: the one bit set is the pedal pressed; releases are skipped.
    const bit = learnBit(new DataView(new ArrayBuffer(ev.data.byteLength)), ev.data);
    if (!bit || l.layout.some((x) => x.byte === bit.byte && x.mask === bit.mask)) return;
    const pedal = PEDALS[l.layout.length];
    l.layout.push({ pedal, ...bit });
    if (l.layout.length >= 3) {
      this.settings.learnt[deviceKey(l.device)] = { name: l.device.productName || '', layout: l.layout };
      this.learning = null;
      this.status.textContent = 'Pedals learnt; saving…';
      this.save('Pedals learnt and saved.');
    } else {
      this.status.textContent = `Got the ${pedal} pedal; now press the ${PEDALS[l.layout.length]} one.`;
    }
  }

  onInputReport(ev) {
    if (this.learning && ev.device === this.learning.device) return this.learn(ev);
    const layout = layoutFor(ev.device, this.settings);
    if (!layout) return this.startLearning(ev.device);
    this.control.apply(parseReport(layout, ev.data));
    return null;
  }

  render() {
    const mode = h('select', { id: 'pedal-mode' },
      h('option', { value: 'hold', selected: this.settings.mode === 'hold' }, 'Hold the play pedal to listen'),
      h('option', { value: 'tap', selected: this.settings.mode === 'tap' }, 'Tap the play pedal to play or pause'));
    mode.addEventListener('change', () => { this.settings.mode = mode.value; this.save(); });
    const rows = PEDALS.map((p) => {
      const sel = h('select', { id: `pedal-${p}`, 'aria-label': `${p} pedal` },
        Object.entries(ACTIONS).map(([v, t]) => h('option', { value: v, selected: this.settings.actions[p] === v }, t)));
      sel.addEventListener('change', () => { this.settings.actions[p] = sel.value; this.save(); });
      return h('tr', h('th', { scope: 'row' }, `${p[0].toUpperCase()}${p.slice(1)} pedal`), h('td', sel));
    });
    fill(this.element,
      h('h3', { id: 'pedal-h' }, 'Foot pedal'),
      h('div.row', h('button.secondary.small', { type: 'button', id: 'pedal-connect', on: { click: () => this.connect() } },
        'Connect a USB pedal'), mode),
      h('table.keys', h('tbody', rows)),
      this.status);
  }

  detach() {
    this.control.stop();
    for (const d of this.devices) d.removeEventListener('inputreport', this.onReport);
  }
}
