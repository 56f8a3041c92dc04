// Go's time.Time formatting and parsing with reference layouts ("2006-01-02T15:04:05Z07:00"),
// for Sprig's date functions. Zones are fixed offsets: a time carries its offset and zone name;
// the controller renders in UTC as upstream's container does (no tz database in its image).
import { GoTime } from './value.ts';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export const utcTime = (unixNano: bigint): GoTime => new GoTime(unixNano, 0, 'UTC');

interface Civil {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  wday: number;
  yday: number;
}

function civil(t: GoTime): Civil {
  const sec = t.unixNano / 1_000_000_000n - (t.unixNano % 1_000_000_000n < 0n ? 1n : 0n);
  let nsec = Number(t.unixNano - sec * 1_000_000_000n);
  const local = Number(sec) + t.offsetSec;
  const d = new Date(local * 1000);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  if (nsec < 0) nsec += 1e9;
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    min: d.getUTCMinutes(),
    sec: d.getUTCSeconds(),
    nsec,
    wday: d.getUTCDay(),
    yday: Math.floor((local * 1000 - start) / 86400000) + 1,
  };
}

const p2 = (n: number): string => String(n).padStart(2, '0');

// The layout's elements, longest first where one is a prefix of another.
const TOKENS = [
  'January', 'Jan', 'Monday', 'Mon', 'MST',
  '2006', '-07:00:00', '-0700', '-07:00', '-07', 'Z07:00:00', 'Z0700', 'Z07:00', 'Z07',
  '01', '02', '03', '04', '05', '06', '002', '__2', '_2', '15', '1', '2', '3', '4', '5', 'PM', 'pm',
];

function tokenize(layout: string): Array<{ tok?: string; lit?: string; frac?: { std: string } }> {
  const out: Array<{ tok?: string; lit?: string; frac?: { std: string } }> = [];
  let i = 0;
  let lit = '';
  while (i < layout.length) {
    const c = layout[i]!;
    if ((c === '.' || c === ',') && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
      const d = layout[i + 1]!;
      let j = i + 1;
      while (layout[j] === d) j++;
      if (!(layout[j]! >= '0' && layout[j]! <= '9')) {
        if (lit) out.push({ lit }), (lit = '');
        out.push({ frac: { std: layout.slice(i, j) } });
        i = j;
        continue;
      }
    }
    let matched: string | undefined;
    for (const t of TOKENS) {
      if (layout.startsWith(t, i)) {
        // "Jan"/"Mon" must not be followed by a lower-case letter (as Go's startsWithLowerCase).
        if ((t === 'Jan' || t === 'Mon') && /[a-z]/.test(layout[i + 3] ?? '')) continue;
        matched = t;
        break;
      }
    }
    if (matched) {
      if (lit) out.push({ lit }), (lit = '');
      out.push({ tok: matched });
      i += matched.length;
    } else {
      lit += c;
      i++;
    }
  }
  if (lit) out.push({ lit });
  return out;
}

function zoneOffset(off: number, colon: boolean, secs: boolean, z: boolean, short = false): string {
  if (z && off === 0) return 'Z';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const h = p2(Math.floor(a / 3600));
  const m = p2(Math.floor((a % 3600) / 60));
  const s = p2(a % 60);
  if (short) return sign + h;
  let r = sign + h + (colon ? ':' : '') + m;
  if (secs) r += (colon ? ':' : '') + s;
  return r;
}

/** time.Time.Format(layout). */
export function formatTime(t: GoTime, layout: string): string {
  const c = civil(t);
  let s = '';
  for (const el of tokenize(layout)) {
    if (el.lit !== undefined) {
      s += el.lit;
      continue;
    }
    if (el.frac) {
      const std = el.frac.std;
      const n = std.length - 1;
      const digits = String(c.nsec).padStart(9, '0').slice(0, n);
      if (std[1] === '0') s += std[0] + digits;
      else {
        const trimmed = digits.replace(/0+$/, '');
        if (trimmed) s += std[0] + trimmed;
      }
      continue;
    }
    switch (el.tok) {
      case 'January': s += MONTHS[c.month - 1]; break;
      case 'Jan': s += MONTHS[c.month - 1]!.slice(0, 3); break;
      case 'Monday': s += DAYS[c.wday]; break;
      case 'Mon': s += DAYS[c.wday]!.slice(0, 3); break;
      case 'MST': s += t.zone || zoneOffset(t.offsetSec, false, false, false); break;
      case '2006': s += String(c.year).padStart(4, '0'); break;
      case '06': s += p2(c.year % 100); break;
      case '01': s += p2(c.month); break;
      case '1': s += String(c.month); break;
      case '02': s += p2(c.day); break;
      case '2': s += String(c.day); break;
      case '_2': s += String(c.day).padStart(2, ' '); break;
      case '002': s += String(c.yday).padStart(3, '0'); break;
      case '__2': s += String(c.yday).padStart(3, ' '); break;
      case '15': s += p2(c.hour); break;
      case '03': s += p2(c.hour % 12 === 0 ? 12 : c.hour % 12); break;
      case '3': s += String(c.hour % 12 === 0 ? 12 : c.hour % 12); break;
      case '04': s += p2(c.min); break;
      case '4': s += String(c.min); break;
      case '05': s += p2(c.sec); break;
      case '5': s += String(c.sec); break;
      case 'PM': s += c.hour >= 12 ? 'PM' : 'AM'; break;
      case 'pm': s += c.hour >= 12 ? 'pm' : 'am'; break;
      case '-0700': s += zoneOffset(t.offsetSec, false, false, false); break;
      case '-07:00': s += zoneOffset(t.offsetSec, true, false, false); break;
      case '-07': s += zoneOffset(t.offsetSec, false, false, false, true); break;
      case '-07:00:00': s += zoneOffset(t.offsetSec, true, true, false); break;
      case 'Z0700': s += zoneOffset(t.offsetSec, false, false, true); break;
      case 'Z07:00': s += zoneOffset(t.offsetSec, true, false, true); break;
      case 'Z07': s += t.offsetSec === 0 ? 'Z' : zoneOffset(t.offsetSec, false, false, false, true); break;
      case 'Z07:00:00': s += t.offsetSec === 0 ? 'Z' : zoneOffset(t.offsetSec, true, true, false); break;
    }
  }
  return s;
}

/** time.Time.String(). */
export function timeString(t: GoTime): string {
  return formatTime(t, '2006-01-02 15:04:05.999999999 -0700 MST');
}

export class TimeParseError extends Error {}

/** time.ParseInLocation(layout, value, UTC) for numeric layouts; names of zones other than UTC are refused. */
export function parseTime(layout: string, value: string): GoTime {
  let i = 0;
  let year = 0, month = 1, day = 1, hour = 0, min = 0, sec = 0, nsec = 0, off = 0;
  let pm: boolean | undefined;
  const num = (min: number, max: number): number => {
    const m = /^\d+/.exec(value.slice(i, i + max));
    if (!m || m[0].length < min) throw new TimeParseError('bad number');
    i += m[0].length;
    return Number(m[0]);
  };
  const els = tokenize(layout);
  for (let k = 0; k < els.length; k++) {
    const el = els[k]!;
    if (el.lit !== undefined) {
      if (!value.startsWith(el.lit, i)) throw new TimeParseError('literal mismatch');
      i += el.lit.length;
      continue;
    }
    if (el.frac) {
      if (value[i] === '.' || value[i] === ',') {
        i++;
        const m = /^\d+/.exec(value.slice(i));
        if (!m) throw new TimeParseError('bad fraction');
        nsec = Number((m[0] + '000000000').slice(0, 9));
        i += m[0].length;
      } else if (el.frac.std[1] === '0') throw new TimeParseError('missing fraction');
      continue;
    }
    switch (el.tok) {
      case '2006': year = num(4, 4); break;
      case '06': year = num(2, 2); year += year >= 69 ? 1900 : 2000; break;
      case '01': month = num(2, 2); break;
      case '1': month = num(1, 2); break;
      case '02': day = num(2, 2); break;
      case '2': case '_2': if (value[i] === ' ') i++; day = num(1, 2); break;
      case '15': hour = num(1, 2); break;
      case '03': case '3': hour = num(el.tok === '03' ? 2 : 1, 2); break;
      case '04': min = num(2, 2); break;
      case '4': min = num(1, 2); break;
      case '05': case '5': {
        sec = num(el.tok === '05' ? 2 : 1, 2);
        // Go accepts a fraction after seconds even when the layout has none.
        const next = els[k + 1];
        if ((value[i] === '.' || value[i] === ',') && /\d/.test(value[i + 1] ?? '') && !next?.frac) {
          i++;
          const m = /^\d+/.exec(value.slice(i))!;
          nsec = Number((m[0] + '000000000').slice(0, 9));
          i += m[0].length;
        }
        break;
      }
      case 'PM': case 'pm': {
        const a = value.slice(i, i + 2).toUpperCase();
        if (a !== 'AM' && a !== 'PM') throw new TimeParseError('bad am/pm');
        pm = a === 'PM';
        i += 2;
        break;
      }
      case 'Z07:00': case 'Z0700': case 'Z07': case '-07:00': case '-0700': case '-07': {
        if (el.tok.startsWith('Z') && value[i] === 'Z') {
          i++;
          break;
        }
        const sign = value[i];
        if (sign !== '+' && sign !== '-') throw new TimeParseError('bad zone');
        i++;
        const h = num(2, 2);
        let m = 0;
        if (el.tok.endsWith(':00')) {
          if (value[i] !== ':') throw new TimeParseError('bad zone');
          i++;
          m = num(2, 2);
        } else if (el.tok.endsWith('0700')) m = num(2, 2);
        off = (sign === '-' ? -1 : 1) * (h * 3600 + m * 60);
        break;
      }
      case 'MST': {
        const m = /^[A-Z]{3,5}/.exec(value.slice(i));
        if (!m || m[0] !== 'UTC') throw new TimeParseError('unknown zone');
        i += m[0].length;
        break;
      }
      case 'Jan': case 'January': {
        const names = el.tok === 'Jan' ? MONTHS.map((x) => x.slice(0, 3)) : MONTHS;
        const idx = names.findIndex((n) => value.slice(i, i + n.length).toLowerCase() === n.toLowerCase());
        if (idx < 0) throw new TimeParseError('bad month');
        month = idx + 1;
        i += names[idx]!.length;
        break;
      }
      case 'Mon': case 'Monday': {
        const names = el.tok === 'Mon' ? DAYS.map((x) => x.slice(0, 3)) : DAYS;
        const idx = names.findIndex((n) => value.slice(i, i + n.length).toLowerCase() === n.toLowerCase());
        if (idx < 0) throw new TimeParseError('bad day');
        i += names[idx]!.length;
        break;
      }
      default:
        throw new TimeParseError('unsupported layout element');
    }
  }
  if (i !== value.length) throw new TimeParseError('extra text');
  if (pm !== undefined) {
    if (hour > 12) throw new TimeParseError('bad hour');
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  if (month < 1 || month > 12 || day < 1 || hour > 23 || min > 59 || sec > 59) throw new TimeParseError('out of range');
  const d = new Date(Date.UTC(2000, month - 1, day, hour, min, sec));
  d.setUTCFullYear(year);
  if (d.getUTCDate() !== day) throw new TimeParseError('day out of range');
  const when = BigInt(d.getTime() / 1000) - BigInt(off);
  return new GoTime(when * 1_000_000_000n + BigInt(nsec), off, off === 0 ? 'UTC' : '');
}
