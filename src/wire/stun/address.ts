/** Textual IP addresses to and from their byte forms, without throwing on bad input. */

/** Writes an IPv4 dotted quad into out[offset..offset+4]; false if it is not one. */
export function writeIPv4(ip: string, out: Uint8Array, offset: number): boolean {
  let part = 0;
  let digits = 0;
  let index = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || index > 3) return false;
      out[offset + index++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return false;
    } else {
      return false;
    }
  }
  return index === 4;
}

/** Writes an IPv6 address (with optional :: and trailing dotted quad) into 16 bytes at offset. */
export function writeIPv6(ip: string, out: Uint8Array, offset: number): boolean {
  const zone = ip.indexOf('%');
  const text = zone >= 0 ? ip.slice(0, zone) : ip;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return false;
  const head = gap >= 0 ? text.slice(0, gap) : text;
  const tail = gap >= 0 ? text.slice(gap + 2) : '';
  const words: number[] = [];
  const tailWords: number[] = [];
  if (!parseGroups(head, words, gap < 0 || tail === '')) return false;
  if (gap >= 0 && !parseGroups(tail, tailWords, true)) return false;
  const total = words.length + tailWords.length;
  if (gap < 0 ? total !== 8 : total > 7) return false;
  const all = words.concat(new Array<number>(8 - total).fill(0), tailWords);
  for (let i = 0; i < 8; i++) {
    out[offset + 2 * i] = all[i]! >> 8;
    out[offset + 2 * i + 1] = all[i]! & 0xff;
  }
  return true;
}

function parseGroups(text: string, words: number[], allowQuad: boolean): boolean {
  if (text === '') return true;
  const groups = text.split(':');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (i === groups.length - 1 && allowQuad && g.includes('.')) {
      const quad = new Uint8Array(4);
      if (!writeIPv4(g, quad, 0)) return false;
      words.push((quad[0]! << 8) | quad[1]!, (quad[2]! << 8) | quad[3]!);
      continue;
    }
    if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return false;
    words.push(Number.parseInt(g, 16));
  }
  return true;
}

export function formatIPv4(buf: Uint8Array, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** RFC 5952 canonical text: lower case, longest run (≥2) of zero words as ::, IPv4-mapped as a quad. */
export function formatIPv6(buf: Uint8Array, offset: number): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = (buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!;
  if (
    words[0] === 0 &&
    words[1] === 0 &&
    words[2] === 0 &&
    words[3] === 0 &&
    words[4] === 0 &&
    words[5] === 0xffff
  ) {
    return `::ffff:${formatIPv4(buf, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return words.map((w) => w.toString(16)).join(':');
  const left = words
    .slice(0, bestStart)
    .map((w) => w.toString(16))
    .join(':');
  const right = words
    .slice(bestStart + bestLen)
    .map((w) => w.toString(16))
    .join(':');
  return `${left}::${right}`;
}

/** 4 for dotted quads, 6 for anything containing ':', 0 otherwise (cheap, not a validator). */
export function ipFamily(ip: string): 4 | 6 | 0 {
  if (ip.includes(':')) return 6;
  if (ip.includes('.')) return 4;
  return 0;
}
