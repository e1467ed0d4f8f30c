// One dictation: the letter beside its audio. The holder edits it (autosave with version
// conflict handling), the audio is synchronised with the recognised words inside the letter
// (draft_editor.js), and the workflow's actions for the current stage are offered (claim,
// submit, approve, return, dispatch, ...). A returned letter shows why at the top. Clinicians
// get the letter and Approve/Return first, a compact player and no transcription controls.

import { api } from '../api.js';
import { h, fill, toast, fmtTime, timeLeft, slaBadge, statusBadge, recognition, label, errorText,
  PRIORITY_LABELS, LETTER_TYPES } from '../ui.js';
import { formatNhs } from '../nhs.js';
import { Transport } from '../transport.js';
import { DraftEditor } from '../draft_editor.js';
import { detailsPanel } from './letter_details.js';

const LEAVE_ACTIONS = new Set(['submit', 'approve', 'return', 'dispatch', 'cancel', 'release']);

export default async function dictation(main, { user, params, navigate }) {
  const id = params.id;
  let d = await api(`dictations/${id}`);
  const def = d.workflow ? await loadDefinition(d.workflow) : null;
  const page = { timers: [], transport: null, stopped: false, editor: null };

  const render = () => {
    if (page.transport) page.transport.detach();
    if (page.editor) page.editor.dispose();
    page.editor = null;
    fill(main);
    const recognising = d.transcription && ['queued', 'running'].includes(d.transcription.status);
    main.append(header(d), recognising ? waiting(d) : workspace());
  };

  function header(x) {
    const p = x.patient || {};
    return h('div.letter-head',
      h('h1', { dataset: { title: 'Letter' } },
        `Letter: ${p.name || (p.nhs_number ? formatNhs(p.nhs_number) : 'unnamed patient')}`),
      h('dl.meta',
        h('dt', 'Status'), h('dd', { id: 'status' }, statusBadge(x), ' ', x.stage || ''),
        h('dt', 'Priority'), h('dd', label(PRIORITY_LABELS, x.priority)),
        h('dt', 'Letter'), h('dd', label(LETTER_TYPES, x.letter_type), x.specialty ? ` · ${x.specialty}` : ''),
        h('dt', 'NHS number'), h('dd', p.nhs_number ? formatNhs(p.nhs_number) : '—'),
        h('dt', 'Date of birth'), h('dd', p.dob || '—'),
        h('dt', 'Clinician'), h('dd', x.clinician || '—'),
        h('dt', 'Assignee'), h('dd', { id: 'assignee' }, x.assignee || '—'),
        h('dt', 'Due'), h('dd', fmtTime(x.due_at), ' ', slaBadge(x), ' ', timeLeft(x))),
      x.notes ? h('p.notes', h('strong', 'Notes: '), x.notes) : null);
  }

  function waiting(x) {
    const t = setTimeout(async () => {
      try { d = await api(`dictations/${id}`); } catch (e) { /* keep polling */ }
      if (!page.stopped) render();
    }, 2000);
    page.timers.push(t);
    return h('section.card', h('h2', 'Recognising the dictation'), h('p', recognition(x)),
      h('p.muted', 'The draft appears here as soon as recognition finishes.'));
  }

  function workspace() {
    const audio = h('audio', { controls: true, preload: 'metadata', src: `/api/v1/dictations/${id}/audio`,
      id: 'player', 'aria-label': 'Dictation audio' });
    page.transport = new Transport(audio);
    const letter = letterPane();
    page.editor.attachAudio(audio);
    // The clinician reads and signs: the letter first, the player compact, no typist's controls.
    const reviewer = user.role === 'clinician';
    const side = h('section.audio-side', { 'aria-label': 'Audio' }, audio, reviewer ? null : page.transport.panel());
    return reviewer ? h('div.workspace.review', letter, side) : h('div.workspace', side, letter);
  }

  function returnedBanner(x) {
    if (!x.returned) return null;
    return h('div.returned', { id: 'returned', role: 'note' },
      h('strong', `Returned by ${x.returned.by} (${fmtTime(x.returned.at)})`),
      x.returned.comment ? h('p', `“${x.returned.comment}”`) : h('p.muted', 'No reason was given.'));
  }

  function holder() {
    return d.assignee === user.username;
  }

  function stage() {
    return def && def.stages.find((s) => s.name === d.stage);
  }

  function letterPane() {
    const st = stage();
    const editable = holder() && st && st.kind === 'human';
    const editor = new DraftEditor(d, editable);
    page.editor = editor;
    const comment = h('textarea', { id: 'comment', rows: 2 });
    const actions = availableActions(st);
    const buttons = actions.map((a) => h(a.name === 'cancel' || a.name === 'return' ? 'button.secondary' : 'button', {
      type: 'button', dataset: { action: a.name }, on: { click: () => act(a, comment) },
    }, a.label || a.name.replace(/_/g, ' ')));
    const exportLinks = h('p.exports', 'Export the saved letter: ',
      exportLink('docx', 'Word (DOCX)'), ' · ', exportLink('pdf', 'PDF'), ' · ', exportLink('fhir.json', 'FHIR'));
    return h('section.letter-side', { 'aria-label': 'Letter' },
      returnedBanner(d),
      editor.element,
      actions.length ? h('div.actions',
        h('div.row', buttons),
        h('div.field', h('label', { for: 'comment' }, 'Comment (needed to return or cancel)'), comment)) : null,
      exportLinks,
      detailsPanel(id, ['approved', 'dispatched', 'cancelled'].includes(d.status)),
      historyBox());

    function exportLink(ext, text) {
      const a = h('a', { href: `/api/v1/dictations/${id}/letter.${ext}`, download: '' }, text);
      a.addEventListener('click', async (ev) => {
        if (!editor.dirty) return;
        ev.preventDefault();
        if (await editor.flush()) location.href = a.href;
      });
      return a;
    }
  }

  function availableActions(st) {
    if (!st || st.kind === 'terminal' || !def) return [];
    const own = st.actions || [];
    const common = (def.common_actions || []).filter((c) => !own.some((a) => a.name === c.name));
    return own.concat(common).filter((a) => a.name !== 'reassign' && permits(a, st));
  }

  function permits(a, st) {
    return (a.by || []).some((p) => {
      if (p === 'assignee') return holder();
      if (p === 'dictating_clinician') return d.clinician === user.username;
      if (p === 'participants') {
        const who = st.who;
        if (who === 'clinician') return d.clinician === user.username;
        if (who && who.user) return who.user === user.username;
        if (who && who.pool) return !who.pool.role || who.pool.role === user.role;
        return false;
      }
      return p && p.role === user.role;
    });
  }

  async function act(a, comment) {
    if (page.editor && !(await page.editor.flush())) return;
    const body = {};
    if (comment.value.trim()) body.comment = comment.value.trim();
    try {
      d = await api(`dictations/${id}/actions/${a.name}`, { json: body });
      toast(`${a.label || a.name}: done.`);
      if (LEAVE_ACTIONS.has(a.name)) {
        navigate(user.role === 'clinician' ? '/app/dictations' : user.role === 'secretary' ? '/app/queue' : '/app/board');
        return;
      }
      d = await api(`dictations/${id}`);
      render();
    } catch (e) {
      toast(errorText(e), 'error');
      if (e.field === 'comment') comment.focus();
    }
  }

  function historyBox() {
    const list = h('ol.history');
    const box = h('details#history', h('summary', 'History'), list);
    box.addEventListener('toggle', async () => {
      if (!box.open) return;
      try {
        const items = await api(`dictations/${id}/history`);
        fill(list, items.map((e) => h('li', `${fmtTime(e.at)} · ${e.actor || 'system'} · ${e.action}`,
          e.from || e.to ? ` (${e.from || '—'} → ${e.to || '—'})` : '', e.comment ? ` — “${e.comment}”` : '')));
      } catch (e) {
        fill(list, h('li.error', errorText(e)));
      }
    });
    return box;
  }

  render();
  const beforeUnload = (ev) => { if (page.editor && page.editor.dirty) { ev.preventDefault(); ev.returnValue = ''; } };
  window.addEventListener('beforeunload', beforeUnload);
  return () => {
    page.stopped = true;
    page.timers.forEach(clearTimeout);
    window.removeEventListener('beforeunload', beforeUnload);
    if (page.transport) page.transport.detach();
    if (page.editor) { page.editor.flush(); page.editor.dispose(); }
  };
}

async function loadDefinition(wf) {
  try {
    const q = wf.version ? `?version=${encodeURIComponent(wf.version)}` : '';
    return (await api(`workflows/${encodeURIComponent(wf.name)}${q}`)).definition;
  } catch (e) {
    return null;
  }
}
