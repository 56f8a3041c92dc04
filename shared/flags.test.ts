import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.ts';
import { parseBool, parseDuration, parseFlags, type FlagSpec } from './flags.ts';

describe('parseDuration (Go syntax)', () => {
  it.each([
    ['720h', 720 * 3_600_000],
    ['87600h', 87_600 * 3_600_000],
    ['1h30m', 5_400_000],
    ['2.5s', 2500],
    ['10ms', 10],
    ['0', 0],
    ['0s', 0],
  ])('%s', (text, ms) => {
    expect(parseDuration(text, '--x')).toBe(ms);
  });
  it('refuses durations without unit', () => {
    expect(() => parseDuration('30', '--key-renew-period')).toThrow(/invalid duration "30" for --key-renew-period/);
  });
});

describe('parseBool (strconv.ParseBool)', () => {
  it('accepts Go spellings only', () => {
    expect(parseBool('T', 'f')).toBe(true);
    expect(parseBool('0', 'f')).toBe(false);
    expect(() => parseBool('yes', '--x')).toThrow(UsageError);
  });
});

describe('parseFlags', () => {
  const specs: FlagSpec[] = [
    { flags: '--update-status', kind: 'bool', default: true, help: '' },
    { flags: '--key-prefix <prefix>', kind: 'string', default: 'sealed-secrets-key', help: '' },
    { flags: '--names <n>', kind: 'list', help: '' },
  ];
  const parse = (args: string[], env: Record<string, string> = {}) => parseFlags({ name: 't', specs, args, env, envPrefix: 'P_' });
  it('takes pflag forms: --x=false, -single-dash, lists by comma and repetition', () => {
    const { values } = parse(['--update-status=false', '-key-prefix', 'k', '--names', 'a,b', '--names=c']);
    expect(values).toMatchObject({ updateStatus: false, keyPrefix: 'k', names: ['a', 'b', 'c'] });
  });
  it('reads the environment; the command line wins', () => {
    const fromEnv = parse([], { P_UPDATE_STATUS: 'false', P_KEY_PREFIX: 'env' });
    expect(fromEnv.values).toMatchObject({ updateStatus: false, keyPrefix: 'env' });
    expect(fromEnv.explicit('keyPrefix')).toBe(true);
    expect(parse(['--key-prefix', 'cli'], { P_KEY_PREFIX: 'env' }).values.keyPrefix).toBe('cli');
    expect(parse([]).explicit('keyPrefix')).toBe(false);
  });
  it('reports unknown flags as usage errors', () => {
    expect(() => parse(['--nope'])).toThrow(/unknown option '--nope'; see t --help/);
  });
});
