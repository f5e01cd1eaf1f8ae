// Identity without Keystone (all-in-one mode): one fixed admin token, compared in constant time.
// The API refuses to run this way on a non-loopback address.
import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidTokenError, type TokenInfo, type TokenValidator } from '../identity.js';

export interface AdminTokenOptions {
  token: string;
  projectId: string;
  userId?: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class AdminTokenValidator implements TokenValidator {
  private readonly expected: Buffer;

  constructor(private readonly options: AdminTokenOptions) {
    this.expected = digest(options.token);
  }

  async validate(token: string): Promise<TokenInfo> {
    if (!timingSafeEqual(digest(token), this.expected)) throw new InvalidTokenError();
    return {
      userId: this.options.userId ?? 'admin',
      userName: 'admin',
      projectId: this.options.projectId,
      projectName: this.options.projectId,
      roles: ['admin', 'member', 'reader'],
      expiresAt: new Date(Date.now() + 24 * 3600 * 1000),
      catalog: [],
    };
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}
