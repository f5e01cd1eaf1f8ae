// A SCRAM-SHA-256 verifier computed here, so a user's password never reaches the server (or its
// statement log) in clear. Non-ASCII passwords go to the server as a literal instead, because the
// server normalises them (SASLprep) before hashing.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const ITERATIONS = 4096;

export function scramVerifier(password: string): string | undefined {
  if (!/^[\x20-\x7e]+$/.test(password)) return undefined;
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
