import { describe, expect, it } from 'vitest';
import { renderTemplateData } from './index.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);
const base = { now: new Date('2026-01-02T03:04:05Z'), random: (n: number) => new Uint8Array(n).fill(7) };

describe('renderTemplateData', () => {
  it('renders over decrypted and plaintext values; encrypted wins on a collision; null omits', () => {
    const r = renderTemplateData({
      ...base,
      templateData: { dsn: '{{ .user }}:{{ .password }}@{{ .host }}', user: 'app', host: 'db', password: 'plain', gone: null, token: null },
      decrypted: { password: enc('s3cret'), token: enc('t') },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(dec(r.data.dsn)).toBe('app:s3cret@db');
    expect(dec(r.data.password)).toBe('s3cret');
    expect(r.data.user && dec(r.data.user)).toBe('app');
    expect('gone' in r.data).toBe(false);
    expect('token' in r.data).toBe(false);
  });

  it('keeps binary values byte for byte', () => {
    const bin = new Uint8Array([0, 0xff, 0x80, 0x41]);
    const r = renderTemplateData({ ...base, templateData: { out: '{{ .bin }}' }, decrypted: { bin } });
    expect(r.ok && [...r.data.out!]).toEqual([...bin]);
  });

  it('uses the given clock and random source', () => {
    const r = renderTemplateData({ ...base, templateData: { d: '{{ now | date "2006-01-02T15:04:05Z07:00" }} {{ randAlphaNum 4 | len }}' }, decrypted: {} });
    expect(r.ok && dec(r.data.d)).toBe('2026-01-02T03:04:05Z 4');
  });

  it('tells parse errors from execution errors', () => {
    const r = renderTemplateData({ ...base, templateData: { p: '{{ .x ', e: '{{ index .x 5 }}' }, decrypted: { x: enc('ab') } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.key, e.kind])).toEqual([['e', 'exec'], ['p', 'parse']]);
    expect(r.errors[1]!.message).toMatch(/^template: p:1: /);
    expect(r.errors[0]!.message).toMatch(/^template: e:1:3: executing "e" at <index \.x 5>: error calling index: /);
  });

  it('never echoes a decrypted value in an error', () => {
    const secret = 'hunter2-SECRET';
    for (const t of ['{{ fail .pw }}', '{{ range .pw }}{{ end }}', '{{ regexMatch .pw "x" | mustRegexFind .pw }}', '{{ mustFromJson .pw }}', '{{ .pw.field }}', '{{ repeat .pw "x" }}', '{{ semver .pw }}', '{{ eq .pw 1 }}', '{{ mustToDate "2006" .pw }}']) {
      const r = renderTemplateData({ ...base, templateData: { t }, decrypted: { pw: enc(secret) } });
      expect(r.ok, t).toBe(false);
      if (!r.ok) expect(r.errors[0]!.message, t).not.toContain('hunter2');
    }
  });

  it('stops hostile templates at the limits with a typed error', () => {
    const hostile = [
      '{{ range until 100000000 }}x{{ end }}',
      '{{ repeat 1000000000 "x" }}',
      '{{ range $i := until 1000 }}{{ range until 1000 }}{{ range until 1000 }}.{{ end }}{{ end }}{{ end }}',
      '{{ printf "%999999999d" 1 }}',
      '{{ $s := "xxxxxxxxxxxxxxxx" }}{{ range until 30 }}{{ $s = print $s $s }}{{ end }}{{ $s }}',
      '{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}',
    ];
    for (const t of hostile) {
      const started = performance.now();
      const r = renderTemplateData({ ...base, templateData: { t, other: '{{ "ok" }}' }, decrypted: {}, clock: () => performance.now() });
      expect(r.ok, t).toBe(false);
      if (!r.ok) expect(r.errors.some((e) => e.kind === 'limit' || e.kind === 'exec'), t).toBe(true);
      expect(performance.now() - started, t).toBeLessThan(10_000);
    }
  });

  it('spans one budget over all keys of a SealedSecret', () => {
    const templateData: Record<string, string> = {};
    for (let i = 0; i < 5; i++) templateData[`k${i}`] = '{{ repeat 300000 "x" }}';
    const r = renderTemplateData({ ...base, templateData, decrypted: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.at(-1)!.kind).toBe('limit');
  });
});
