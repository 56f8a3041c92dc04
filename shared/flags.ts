/**
 * Command lines in the manner of Go's pflag, which upstream's binaries use, on top of commander:
 * `--flag value`, `--flag=value`, `-flag`, booleans as `--flag`, `--flag=true|false`, string lists
 * by repetition or commas, and every flag also from the environment as PREFIX<FLAG> (upper case,
 * "-" as "_"), the command line winning. Pure: arguments and environment in, values out.
 */
import { Command, CommanderError, Option } from 'commander';
import { UsageError } from './errors.ts';

export type FlagKind = 'string' | 'bool' | 'list' | 'array';

/**
 * What a shell offers for a flag's value (`kubeseal completion`): file names, one of a few words,
 * or names kubectl lists from the kubeconfig (context, cluster, user) or the cluster (namespace).
 */
export type ValueCompletion = 'file' | 'context' | 'cluster' | 'user' | 'namespace' | readonly string[];

export interface FlagSpec {
  /** commander syntax: "-o, --format <format>", "--raw". */
  readonly flags: string;
  readonly kind: FlagKind;
  readonly help: string;
  readonly default?: string | boolean;
  readonly hidden?: boolean;
  /** false for flags that cannot come from the environment. */
  readonly env?: boolean;
  /** Shell completion of the value; none when absent. */
  readonly complete?: ValueCompletion;
}

export interface ParsedFlags {
  /** Values by camel-cased long name ("allowEmptyData"). Lists are string[]; unset strings are "". */
  readonly values: Readonly<Record<string, unknown>>;
  /** Whether the flag was given on the command line or in the environment. */
  explicit(name: string): boolean;
  /** The arguments that are not flags or flag values, in order. */
  readonly operands: readonly string[];
}

/** Go's strconv.ParseBool. */
export function parseBool(value: string, flag: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new UsageError(`invalid value "${value}" for ${flag}: use true or false`);
}

export const longName = (spec: FlagSpec): string => /--([a-z0-9_-]+)/.exec(spec.flags)?.[1] as string;
export const camelName = (name: string): string => name.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const envName = (prefix: string, flag: string): string => prefix + flag.toUpperCase().replace(/-/g, '_');

/** The commander program for `specs` (also used to render --help). */
export function buildProgram(name: string, description: string, specs: readonly FlagSpec[]): Command {
  const program = new Command(name)
    .description(description)
    .helpOption(false)
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  for (const spec of specs) {
    const option = new Option(spec.flags, spec.help);
    if (spec.default !== undefined) option.default(spec.default);
    if (spec.hidden) option.hideHelp();
    if (spec.kind === 'list') option.argParser((value: string, previous: unknown) => [...(Array.isArray(previous) ? previous : []), ...value.split(',')]);
    if (spec.kind === 'array') option.argParser((value: string, previous: unknown) => [...(Array.isArray(previous) ? previous : []), value]);
    program.addOption(option);
    if (spec.kind === 'bool') program.addOption(new Option(`--no-${longName(spec)}`).hideHelp());
  }
  return program;
}

/** Go flags also come as -flag, and pflag takes --flag=true|false for booleans. */
function normalizeArgs(args: readonly string[], specs: readonly FlagSpec[]): string[] {
  const bools = new Set(specs.filter((s) => s.kind === 'bool').map(longName));
  const longs = new Set(specs.map(longName));
  return args.map((arg) => {
    let current = arg;
    const single = /^-([a-z_][a-z0-9_-]+)(=.*)?$/.exec(current);
    if (single && longs.has(single[1] as string)) current = `-${current}`;
    const eq = /^--([a-z0-9_-]+)=(.*)$/.exec(current);
    if (eq && bools.has(eq[1] as string)) current = parseBool(eq[2] as string, `--${eq[1]}`) ? `--${eq[1]}` : `--no-${eq[1]}`;
    return current;
  });
}

/** Parse `args` and the environment; throws UsageError with a one-line message. */
export function parseFlags(options: {
  name: string;
  specs: readonly FlagSpec[];
  args: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  envPrefix: string;
}): ParsedFlags {
  const { specs, env, envPrefix } = options;
  const program = buildProgram(options.name, '', specs);
  for (const spec of specs) {
    const name = longName(spec);
    const value = spec.env === false ? undefined : env[envName(envPrefix, name)];
    if (value === undefined) continue;
    const parsed = spec.kind === 'bool' ? parseBool(value, envName(envPrefix, name))
      : spec.kind === 'list' ? value.split(',')
        : spec.kind === 'array' ? [value]
          : value;
    program.setOptionValueWithSource(camelName(name), parsed, 'env');
  }
  try {
    program.parse(normalizeArgs(options.args, specs), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new UsageError(`${error.message.replace(/^error: /, '')}; see ${options.name} --help`);
    throw error;
  }
  const values = program.opts<Record<string, unknown>>();
  return {
    values,
    explicit: (name) => ['cli', 'env'].includes(program.getOptionValueSource(name) ?? ''),
    operands: [...program.args],
  };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("720h", "1h30m", "2.5s", "0"), in milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const text = value.trim();
  if (text === '0') return 0;
  const match = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!match) throw new UsageError(`invalid duration "${value}" for ${flag}: use Go syntax such as 720h, 90m or 10s`);
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (DURATION_UNITS[part[2] as string] as number);
  }
  return match[1] === '-' ? -total : total;
}
