// Methods of the non-basic values Sprig returns (time.Time, *semver.Version), callable from
// templates as fields: {{ now.Unix }}, {{ (semver "1.2.3").Major }}.
import { FuncError } from './errors.ts';
import { formatValue } from './fmt.ts';
import { formatTime } from './time.ts';
import { GoInt, GoSemver, GoTime, int, int64 } from './value.ts';
import type { AnyValue } from './value.ts';

export interface Method {
  arity: number;
  call(args: AnyValue[]): AnyValue;
}

export const ZERO_TIME = new GoTime(-62135596800n * 1_000_000_000n, 0, 'UTC');

// ---- methods on time.Time and *semver.Version ---------------------------------------------------

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The methods templates can call on time.Time and *semver.Version values ({{ now.Unix }}). */
export function methodOf(v: AnyValue, name: string): Method | undefined {
  if (v instanceof GoTime) {
    const sec = v.unixNano / 1_000_000_000n - (v.unixNano % 1_000_000_000n < 0n ? 1n : 0n);
    const civil = (): Date => new Date(Number(sec + BigInt(v.offsetSec)) * 1000);
    const m0 = (fn: () => AnyValue) => ({ arity: 0, call: () => fn() });
    switch (name) {
      case 'Unix': return m0(() => int64(sec));
      case 'UnixNano': return m0(() => int64(v.unixNano));
      case 'UnixMilli': return m0(() => int64(v.unixNano / 1_000_000n));
      case 'Year': return m0(() => int(civil().getUTCFullYear()));
      case 'Month': return m0(() => MONTH_NAMES[civil().getUTCMonth()]!);
      case 'Day': return m0(() => int(civil().getUTCDate()));
      case 'Hour': return m0(() => int(civil().getUTCHours()));
      case 'Minute': return m0(() => int(civil().getUTCMinutes()));
      case 'Second': return m0(() => int(civil().getUTCSeconds()));
      case 'Nanosecond': return m0(() => int(Number(v.unixNano - sec * 1_000_000_000n)));
      case 'Weekday': return m0(() => DAY_NAMES[civil().getUTCDay()]!);
      case 'UTC': return m0(() => new GoTime(v.unixNano, 0, 'UTC'));
      case 'Local': return m0(() => new GoTime(v.unixNano, 0, 'UTC'));
      case 'IsZero': return m0(() => v.unixNano === ZERO_TIME.unixNano);
      case 'String': return m0(() => formatValue(v));
      case 'Format': return { arity: 1, call: ([l]: AnyValue[]) => {
        if (typeof l !== 'string') throw new FuncError('wrong type for value; expected string');
        return formatTime(v, l);
      } };
    }
    return undefined;
  }
  if (v instanceof GoSemver) {
    const m0 = (fn: () => AnyValue) => ({ arity: 0, call: () => fn() });
    switch (name) {
      case 'Major': return m0(() => new GoInt('uint64', v.major));
      case 'Minor': return m0(() => new GoInt('uint64', v.minor));
      case 'Patch': return m0(() => new GoInt('uint64', v.patch));
      case 'Prerelease': return m0(() => v.pre);
      case 'Metadata': return m0(() => v.metadata);
      case 'Original': return m0(() => v.original);
      case 'String': return m0(() => v.toString());
    }
  }
  return undefined;
}
