// The recognised words inside the letter itself: each word of the letter that is still the
// word recognition heard carries its timing and confidence ("marks": character ranges of the
// letter text). Marks follow edits: text typed before a word moves it; a word that is edited
// (or deleted) loses its mark. A mark whose word was touched by an edit is set aside (kept in
// time order, without a place) and put back if the same word stands again between its
// neighbours once the edit is done (typing "Re " before "Dear" passes through "RDear").
// The marks are drawn on a layer behind the letter's textarea.

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;
const LOOKAHEAD = 40;

function norm(s) {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * Pairs the words of `text` with recognised `words` ({text, start, end, confidence, heard}),
 * in order, each letter word with the next recognised word that spells the same within a
 * short look-ahead (commands and formatting change a few words between speech and letter).
 * Returns marks {from, to, start, end, confidence, heard} sorted by position.
 */
export function alignWords(text, words) {
  const heard = words.map((w) => norm(w.text));
  const marks = [];
  let next = 0;
  for (const m of text.matchAll(WORD)) {
    const key = norm(m[0]);
    for (let j = next; j < Math.min(heard.length, next + LOOKAHEAD); j += 1) {
      if (heard[j] && heard[j] === key) {
        const w = words[j];
        marks.push({ from: m.index, to: m.index + m[0].length, word: m[0], start: w.start, end: w.end,
          confidence: w.confidence, heard: w.heard || null });
        next = j + 1;
        break;
      }
    }
  }
  return marks;
}

/**
 * The marks after `before` became `after`: the changed span is what lies between the
 * longest common prefix and suffix; marks wholly before it stay, marks wholly after it
 * shift by the change in length, marks touching it are set aside (`from` null), then every
 * mark set aside is put back on the same word if it stands again between its neighbours.
 */
export function followEdit(marks, before, after) {
  if (before === after) return marks;
  let p = 0;
  const max = Math.min(before.length, after.length);
  while (p < max && before[p] === after[p]) p += 1;
  let s = 0;
  while (s < max - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s += 1;
  const oldEnd = before.length - s;
  const delta = after.length - before.length;
  const moved = marks.map((m) => {
    if (m.from === null) return m;
    if (m.to < p || (m.to === p && !isWordChar(after[p]))) return m;
    if (m.from > oldEnd || (m.from === oldEnd && !isWordChar(after[oldEnd + delta - 1]))) {
      return { ...m, from: m.from + delta, to: m.to + delta };
    }
    return { ...m, from: null, to: null };
  });
  return reattach(moved, after);
}

/** Puts marks set aside back on their word where it stands between their placed neighbours. */
function reattach(marks, text) {
  const out = marks.slice();
  let i = 0;
  while (i < out.length) {
    if (out[i].from !== null) { i += 1; continue; }
    let j = i;
    while (j < out.length && out[j].from === null) j += 1;
    const lo = i > 0 ? out[i - 1].to : 0;
    const hi = j < out.length ? out[j].from : text.length;
    const gap = [...text.slice(lo, hi).matchAll(WORD)];
    let g = 0;
    for (let k = i; k < j && g < gap.length; k += 1) {
      let hit = g;
      while (hit < gap.length && gap[hit][0] !== out[k].word) hit += 1;
      if (hit < gap.length) {
        out[k] = { ...out[k], from: lo + gap[hit].index, to: lo + gap[hit].index + gap[hit][0].length };
        g = hit + 1;
      }
    }
    i = j;
  }
  return out;
}

/** The marks that have a place in the text. */
export function placed(marks) {
  return marks.filter((m) => m.from !== null);
}

function isWordChar(c) {
  return c !== undefined && /[\p{L}\p{N}'’-]/u.test(c);
}

/** The mark at character `pos` (inside or just after a word), or null. */
export function markAt(marks, pos) {
  return marks.find((m) => pos >= m.from && pos <= m.to) || null;
}

/** The index of the mark being spoken at `t` seconds, or -1 (marks are in time order). */
export function markAtTime(marks, t) {
  let lo = 0;
  let hi = marks.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found >= 0 && t <= marks[found].end + 0.3 ? found : -1;
}
