// NHS number: 10 digits, modulus 11 check digit (weights 10..2 on the first nine).

/** Digits only, so "943 476 5919" and "943-476-5919" are accepted as typed. */
export function nhsDigits(value) {
  return String(value || '').replace(/[\s-]/g, '');
}

/** { ok, message } for what has been typed so far (empty is fine: the field is optional). */
export function checkNhs(value) {
  const d = nhsDigits(value);
  if (d === '') return { ok: true, message: '' };
  if (!/^\d+$/.test(d)) return { ok: false, message: 'Only digits, spaces and hyphens' };
  if (d.length < 10) return { ok: false, message: `${10 - d.length} more digit${d.length === 9 ? '' : 's'} needed` };
  if (d.length > 10) return { ok: false, message: 'An NHS number has 10 digits' };
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(d[i]) * (10 - i);
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  if (check === 10 || check !== Number(d[9])) return { ok: false, message: 'Not a valid NHS number (check digit)' };
  return { ok: true, message: `Valid NHS number ${formatNhs(d)}` };
}

export function formatNhs(value) {
  const d = nhsDigits(value);
  return d.length === 10 ? `${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}` : d;
}
