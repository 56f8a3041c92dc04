import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linodeVectors, pythonVectors, sealingKey, sealingPublicKey, secondKey, type Vector } from '../test/fixtures/fixtures.ts';
import { hybridDecrypt, hybridDecryptAsync, hybridEncrypt, splitCiphertext, webCryptoOpener } from './crypto.ts';
import { DecryptError } from './errors.ts';
import { encryptionLabel, SCOPES } from './scope.ts';

const keys = [sealingKey(), secondKey()];
const publicKey = sealingPublicKey();
const labelOf = (v: Vector) => encryptionLabel(v.scope, v.namespace, v.name);
const bytes = (b64: string) => Buffer.from(b64, 'base64');

function failureOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof DecryptError) return error.failure;
    throw error;
  }
  return undefined;
}

describe('known-answer vectors from independent implementations', () => {
  it.each(pythonVectors().map((v) => [`${v.scope} ${v.namespace}/${v.name}`, v] as const))(
    'opens the python-cryptography vector %s',
    (_, v) => {
      const { plaintext, keyIndex } = hybridDecrypt(keys, bytes(v.ciphertext), labelOf(v));
      expect(plaintext.toString('base64')).toBe(v.plaintext);
      expect(keyIndex).toBe(v.cert === 'second-cert.pem' ? 1 : 0);
    },
  );

  it.each(linodeVectors().map((v) => [`${v.namespace}/${v.name}`, v] as const))(
    'opens the @linode/kubeseal-encrypt (namespace-wide) vector %s',
    (_, v) => {
      expect(hybridDecrypt(keys, bytes(v.ciphertext), labelOf(v)).plaintext.toString('base64')).toBe(v.plaintext);
      // the same value under another scope's label must not open
      expect(failureOf(() => hybridDecrypt(keys, bytes(v.ciphertext), encryptionLabel('strict', v.namespace, v.name)))).toBe('no-key');
    },
  );
});

describe('negative vectors', () => {
  const v = pythonVectors()[0] as Vector;
  const good = bytes(v.ciphertext);
  const cases: [string, Buffer, Buffer, string][] = [
    ['wrong label (other name)', good, encryptionLabel('strict', v.namespace, 'other-name'), 'no-key'],
    ['wrong label (other namespace)', good, encryptionLabel('strict', 'other-ns', v.name), 'no-key'],
    ['wrong label (cluster-wide)', good, encryptionLabel('cluster-wide', '', ''), 'no-key'],
    ['flipped tag byte', Buffer.concat([good.subarray(0, -1), Buffer.from([(good.at(-1) as number) ^ 1])]), labelOf(v), 'tampered'],
    ['flipped AES byte', (() => { const b = Buffer.from(good); b[2 + 512] = (b[2 + 512] as number) ^ 0x80; return b; })(), labelOf(v), 'tampered'],
    ['flipped RSA byte', (() => { const b = Buffer.from(good); b[100] = (b[100] as number) ^ 1; return b; })(), labelOf(v), 'no-key'],
    ['truncated in the RSA part', good.subarray(0, 300), labelOf(v), 'malformed'],
    ['truncated in the tag', good.subarray(0, good.length - 20), labelOf(v), 'malformed'],
    ['one byte', Buffer.from([2]), labelOf(v), 'malformed'],
    ['empty', Buffer.alloc(0), labelOf(v), 'malformed'],
    ['length prefix beyond the end', Buffer.concat([Buffer.from([0xff, 0xff]), good.subarray(2)]), labelOf(v), 'malformed'],
    ['length prefix of a smaller key', Buffer.concat([Buffer.from([0x01, 0x00]), good.subarray(2)]), labelOf(v), 'no-key'],
  ];
  it.each(cases)('%s is refused', (_, ciphertext, label, failure) => {
    expect(failureOf(() => hybridDecrypt(keys, ciphertext, label))).toBe(failure);
  });

  it('refuses everything when no key is given', () => {
    expect(failureOf(() => hybridDecrypt([], good, labelOf(v)))).toBe('no-key');
  });
});

describe('hybridDecryptAsync (WebCrypto, the controller) answers as hybridDecrypt does', () => {
  const openers = keys.map(webCryptoOpener);
  const v = pythonVectors()[0] as Vector;
  const asyncFailureOf = async (ciphertext: Buffer, label: Buffer) => {
    try {
      await hybridDecryptAsync(openers, ciphertext, label);
    } catch (error) {
      if (error instanceof DecryptError) return error.failure;
      throw error;
    }
    return undefined;
  };

  it.each(pythonVectors().map((v) => [`${v.scope} ${v.namespace}/${v.name}`, v] as const))('opens the vector %s with the same key', async (_, v) => {
    const sync = hybridDecrypt(keys, bytes(v.ciphertext), labelOf(v));
    const opened = await hybridDecryptAsync(openers, bytes(v.ciphertext), labelOf(v));
    expect(opened.plaintext.equals(sync.plaintext)).toBe(true);
    expect(opened.keyIndex).toBe(sync.keyIndex);
  });

  it('fails the same way on a wrong label, a flipped tag, a flipped RSA byte, truncation and a smaller key\'s prefix', async () => {
    const good = bytes(v.ciphertext);
    const cases: [Buffer, Buffer][] = [
      [good, encryptionLabel('strict', v.namespace, 'other-name')],
      [Buffer.concat([good.subarray(0, -1), Buffer.from([(good.at(-1) as number) ^ 1])]), labelOf(v)],
      [(() => { const b = Buffer.from(good); b[100] = (b[100] as number) ^ 1; return b; })(), labelOf(v)],
      [good.subarray(0, 300), labelOf(v)],
      [Buffer.concat([Buffer.from([0x01, 0x00]), good.subarray(2)]), labelOf(v)],
    ];
    for (const [ciphertext, label] of cases) {
      expect(await asyncFailureOf(ciphertext, label)).toBe(failureOf(() => hybridDecrypt(keys, ciphertext, label)));
    }
  });
});

describe('hybridDecryptAsync rules a key out by its modulus without an RSA operation', () => {
  const v = pythonVectors()[0] as Vector;
  const counted = (opener: ReturnType<typeof webCryptoOpener>) => {
    const calls = { n: 0 };
    return { calls, opener: { ...opener, open: (rsaPart: Buffer, label: Uint8Array) => (calls.n++, opener.open(rsaPart, label)) } };
  };

  it('knows each key\'s modulus', () => {
    for (const key of keys) {
      const n = Buffer.from(key.export({ format: 'jwk' }).n as string, 'base64url');
      expect(webCryptoOpener(key).modulus?.equals(n)).toBe(true);
    }
  });

  it('does not try a key whose modulus the RSA part reaches, and still opens with the one that fits', async () => {
    const good = bytes(v.ciphertext);
    const [first, second] = keys.map((k) => counted(webCryptoOpener(k)));
    if (!first || !second) throw new Error('two keys expected');
    // An RSA part of all 0xff bytes is above every modulus of its length.
    const high = Buffer.from(good);
    high.fill(0xff, 2, 2 + 512);
    await expect(hybridDecryptAsync([first.opener, second.opener], high, labelOf(v))).rejects.toMatchObject({ failure: 'no-key' });
    expect([first.calls.n, second.calls.n]).toEqual([0, 0]);
    // A real one: only the keys below whose modulus it lies are asked.
    const opened = await hybridDecryptAsync([second.opener, first.opener], good, labelOf(v));
    expect(opened.plaintext.equals(hybridDecrypt(keys, good, labelOf(v)).plaintext)).toBe(true);
    expect(first.calls.n).toBe(1);
  });
});

describe('hybridEncrypt', () => {
  it('lays out prefix, RSA part and AES-GCM part as upstream', () => {
    const sessionKey = Buffer.alloc(32, 7);
    const plaintext = Buffer.from('layout check');
    const sealed = hybridEncrypt(publicKey, plaintext, Buffer.from('ns/name'), () => sessionKey);
    expect(sealed.readUInt16BE(0)).toBe(512);
    expect(sealed.length).toBe(2 + 512 + plaintext.length + 16);
    expect(sealed.toString('base64').startsWith('Ag')).toBe(true);
    // the AES part is exactly AES-256-GCM with a zero nonce and no AAD, computed independently here
    const cipher = createCipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
    const expected = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    expect(splitCiphertext(sealed).aesPart.equals(expected)).toBe(true);
  });

  it('uses a fresh session key per value', () => {
    const a = hybridEncrypt(publicKey, Buffer.from('x'), Buffer.alloc(0), randomBytes);
    const b = hybridEncrypt(publicKey, Buffer.from('x'), Buffer.alloc(0), randomBytes);
    expect(a.subarray(514).equals(b.subarray(514))).toBe(false);
  });

  it('round-trips arbitrary bytes (empty and non-UTF-8 included) in every scope', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2048 }),
        fc.constantFrom(...SCOPES),
        fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
        fc.stringMatching(/^[a-z0-9]([-.a-z0-9]{0,30}[a-z0-9])?$/),
        (plaintext, scope, namespace, name) => {
          const label = encryptionLabel(scope, namespace, name);
          const sealed = hybridEncrypt(publicKey, plaintext, label, randomBytes);
          const opened = hybridDecrypt(keys, sealed, label);
          expect(Buffer.compare(opened.plaintext, Buffer.from(plaintext))).toBe(0);
          expect(opened.keyIndex).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});
