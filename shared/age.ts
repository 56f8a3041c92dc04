/**
 * age (age-encryption.org/v1) through the age-encryption package, the format's reference
 * TypeScript implementation: recipients and identities as text, and the encrypter and decrypter
 * that shared/key-backup.ts takes. The package (ESM, with its curve and cipher libraries) is
 * imported only when one of these is made, so the paths that never touch escrow never load it.
 */
import { UserError, UsageError } from './errors.ts';
import type { BackupDecrypter, BackupEncrypter } from './key-backup.ts';

type Age = typeof import('age-encryption');
const loadAge = (): Promise<Age> => import('age-encryption');

/**
 * The shape of an age X25519 recipient: "age1" then 58 bech32 characters (32 bytes and a
 * checksum). The checksum is checked by the package when the encrypter is made.
 */
const X25519_RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;

/** Check the form of an `age1…` X25519 recipient (a public key: safe to quote); `flag` names where it came from. */
export function checkAgeRecipient(recipient: string, flag: string): string {
  const value = recipient.trim();
  if (!X25519_RECIPIENT.test(value)) {
    throw new UsageError(`invalid ${flag} "${value}": use an age X25519 recipient, "age1" and 58 more characters (age-keygen -y identity.txt prints it)`);
  }
  return value;
}

/** An encrypter to every recipient; throws a UsageError naming a recipient whose checksum is wrong. */
export async function ageEncrypter(recipients: readonly string[], flag = '--key-backup-recipient'): Promise<BackupEncrypter> {
  const age = await loadAge();
  const encrypter = new age.Encrypter();
  for (const recipient of recipients) {
    try {
      encrypter.addRecipient(checkAgeRecipient(recipient, flag));
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`invalid ${flag} "${recipient}": not a valid age X25519 recipient (bad checksum); copy it again from age-keygen -y`);
    }
  }
  if (recipients.length === 0) throw new UsageError(`${flag} is needed to encrypt key backups`);
  return {
    recipients: [...recipients],
    encrypt: async (plaintext) => age.armor.encode(await encrypter.encrypt(plaintext)),
  };
}

/**
 * The identities ("AGE-SECRET-KEY-1…" lines) of an age identity file, as age-keygen writes it:
 * '#' comments and blank lines skipped. `where` names the file in errors; a line is never quoted.
 */
export function parseAgeIdentities(text: string, where: string): string[] {
  const identities: string[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith('AGE-SECRET-KEY-1')) throw new UserError(`${where}: line ${index + 1} is not an age identity (AGE-SECRET-KEY-1…); pass the file age-keygen wrote`);
    identities.push(line);
  }
  if (identities.length === 0) throw new UserError(`${where} holds no age identity (AGE-SECRET-KEY-1…); pass the file age-keygen wrote`);
  return identities;
}

/** A decrypter holding `identities`; rejects when the armor is malformed or no identity fits. */
export async function ageDecrypter(identities: readonly string[], where: string): Promise<BackupDecrypter> {
  const age = await loadAge();
  const decrypter = new age.Decrypter();
  for (const [index, identity] of identities.entries()) {
    try {
      decrypter.addIdentity(identity);
    } catch {
      throw new UserError(`${where}: identity ${index + 1} is not a valid age identity; pass the file age-keygen wrote`);
    }
  }
  return { decrypt: (armored) => decrypter.decrypt(age.armor.decode(armored)) };
}

/** A new X25519 identity and its recipient (tests and first-time setup). */
export async function generateAgeIdentity(): Promise<{ identity: string; recipient: string }> {
  const age = await loadAge();
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}
