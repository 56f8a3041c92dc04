// Unit checks of Sprig's crypto helpers without Go; differential.test.ts proves them against Go.
import { randomBytes } from 'node:crypto';
import bcryptjs from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { renderTemplateData } from './index.ts';
import { platformKeyGenerator } from './unseal-renderer.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const render = (templateData: Record<string, string>, decrypted: Record<string, Uint8Array> = {}) =>
  renderTemplateData({ templateData, decrypted, now: new Date(0), random: (n) => new Uint8Array(randomBytes(n)) });
const text = (r: ReturnType<typeof render>, key: string): string => {
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return Buffer.from(r.data[key]!).toString('latin1');
};

describe('Sprig crypto helpers', () => {
  it('encryptAES gives IV + AES-256-CBC in base64; decryptAES opens it, binary values too', () => {
    const bin = new Uint8Array([0, 0xff, 0x80, 0x41, 10]);
    const r = render({ c: '{{ encryptAES "pw" .bin }}', back: '{{ encryptAES "pw" .bin | decryptAES "pw" | b64enc }}' }, { bin });
    expect(Buffer.from(text(r, 'c'), 'base64')).toHaveLength(32);
    expect(Buffer.from(text(r, 'back'), 'base64').equals(Buffer.from(bin))).toBe(true);
  });

  it('decryptAES fails, as Go panics, on input that is too short, not whole blocks, or not base64', () => {
    for (const c of ['AAAA', Buffer.alloc(20).toString('base64'), Buffer.alloc(16).toString('base64'), '!!']) {
      const r = render({ k: `{{ decryptAES "pw" "${c}" }}` });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors[0]!.message).toMatch(/error calling decryptAES: (runtime error|crypto\/cipher|illegal base64)/);
    }
  });

  it('bcrypt and htpasswd write $2a$10$ hashes that verify; too long and bad user names give Sprig\'s texts', () => {
    const r = render({ h: '{{ bcrypt .pw }}', line: '{{ htpasswd "bob" .pw }}', long: '{{ bcrypt (repeat 73 "x") }}', bad: '{{ htpasswd "a:b" "x" }}' }, { pw: enc('pässwörd') });
    const h = text(r, 'h');
    expect(h).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(bcryptjs.compareSync('pässwörd', h)).toBe(true);
    const [user, hash] = text(r, 'line').split(':');
    expect(user).toBe('bob');
    expect(bcryptjs.compareSync('pässwörd', hash!)).toBe(true);
    expect(text(r, 'long')).toBe('failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes');
    expect(text(r, 'bad')).toBe('invalid username: a:b');
  });

  it('derivePassword is deterministic and follows its template classes', () => {
    const t = { a: '{{ derivePassword 3 "pin" "pw" "me" "site" }}', b: '{{ derivePassword 3 "pin" "pw" "me" "site" }}', c: '{{ derivePassword 4 "pin" "pw" "me" "site" }}' };
    const r = render(t);
    expect(text(r, 'a')).toMatch(/^\d{4}$/);
    expect(text(r, 'a')).toBe(text(r, 'b'));
    expect(text(render({ x: '{{ derivePassword 1 "nope" "p" "u" "s" }}' }), 'x')).toBe('cannot find password template nope');
  });

  it('a template that hashes in a loop hits the step limit instead of running for minutes', () => {
    const r = render({ k: '{{ range until 1000 }}{{ bcrypt "x" }}{{ end }}' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.kind).toBe('limit');
  }, 30_000);

  it('genCA and genSignedCert make a chain that verifies; without a key generator they are refused', () => {
    const r = renderTemplateData({
      templateData: { k: '{{ $ca := genCA "ca" 2 }}{{ $c := genSignedCert "leaf" (list "127.0.0.1") (list "leaf.local") 1 $ca }}{{ $ca.Cert }}{{ $c.Cert }}' },
      decrypted: {}, now: new Date('2026-01-01T00:00:00Z'), random: (n) => new Uint8Array(randomBytes(n)), generateKey: platformKeyGenerator,
    });
    const [ca, leaf] = text(r, 'k').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)!.map((p) => new X509Certificate(p));
    expect(ca!.ca).toBe(true);
    expect(leaf!.checkIssued(ca!) && leaf!.verify(ca!.publicKey)).toBe(true);
    expect(leaf!.subjectAltName).toBe('DNS:leaf.local, IP Address:127.0.0.1');
    expect(leaf!.validFrom).toBe('Jan  1 00:00:00 2026 GMT');
    expect(leaf!.validTo).toBe('Jan  2 00:00:00 2026 GMT');
    const refused = render({ k: '{{ genCA "ca" 1 }}' });
    expect(refused.ok).toBe(false);
  }, 30_000);
});
