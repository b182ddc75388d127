/**
 * DNS label mangling (owns: SPEC §5.1 label functions for RFC 1123 and RFC 952, with
 * the original's cut-and-refill quirk, and §5.2 `frag` for dotted framework names).
 */

/** A label function: any string in, a DNS label (possibly empty) out. */
export type LabelFn = (name: string) => string;

const HYPHEN = 45; // "-"

/** Maps one UTF-16 code unit to its label character, or "" to delete it (§5.1 step 1). */
function mapChars(name: string): string {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) out += String.fromCharCode(c + 32);
    else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) out += name[i];
    else if (c === 45 || c === 46 || c === 95) out += "-";
    // every other code point (non-ASCII included) is deleted
  }
  return out;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Builds a label function with the given maximum length and left cut-set (§5.1 steps 2–3). */
function makeLabel(maxlen: number, cutDigitsLeft: boolean): LabelFn {
  return (name: string): string => {
    const mapped = mapChars(name);
    let start = 0;
    while (start < mapped.length) {
      const c = mapped.charCodeAt(start);
      if (c === HYPHEN || (cutDigitsLeft && isDigit(c))) start++;
      else break;
    }
    const l = start === 0 ? mapped : mapped.slice(start);
    const size = Math.min(l.length, maxlen);
    let headEnd = size;
    while (headEnd > 0 && l.charCodeAt(headEnd - 1) === HYPHEN) headEnd--;
    const head = l.slice(0, headEnd);
    if (headEnd === size) return head;
    let tailStart = size;
    while (tailStart < l.length && l.charCodeAt(tailStart) === HYPHEN) tailStart++;
    return head + l.slice(tailStart, tailStart + (size - headEnd));
  };
}

/** RFC 1123 labels: at most 63 characters, no leading or trailing hyphen (default). */
export const rfc1123: LabelFn = makeLabel(63, false);

/** RFC 952 labels: at most 24 characters, starting with a letter (`EnforceRFC952`). */
export const rfc952: LabelFn = makeLabel(24, true);

/** The label function chosen by the `EnforceRFC952` setting. */
export function labelFunction(enforceRFC952: boolean): LabelFn {
  return enforceRFC952 ? rfc952 : rfc1123;
}

/**
 * Domain fragment (§5.2): splits on `.`, applies `spec` to each piece, drops pieces that
 * became empty and joins the rest with `.` (`a..c` → `a.c`).
 */
export function frag(name: string, spec: LabelFn): string {
  const out: string[] = [];
  for (const piece of name.split(".")) {
    const l = spec(piece);
    if (l !== "") out.push(l);
  }
  return out.join(".");
}
