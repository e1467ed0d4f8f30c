// The recognised words inside the letter itself: each word of the letter that is still the
// word recognition heard carries its timing and confidence ("marks": character ranges of the
// letter text). Marks follow edits: text typed before a word moves it; a word that is edited
// (or deleted) loses its mark. The marks are drawn on a layer behind the letter's textarea.

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
        marks.push({ from: m.index, to: m.index + m[0].length, start: w.start, end: w.end,
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
 * shift by the change in length, marks touching it are dropped.
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
  const out = [];
  for (const m of marks) {
    if (m.to < p || (m.to === p && !isWordChar(after[p]))) out.push(m);
    else if (m.from > oldEnd || (m.from === oldEnd && !isWordChar(after[oldEnd + delta - 1]))) {
      out.push({ ...m, from: m.from + delta, to: m.to + delta });
    }
  }
  return out;
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
