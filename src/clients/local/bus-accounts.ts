// BusAccounts on the all-in-one socket bus: each guest's user and a scrypt hash of its password in
// a 0600 file of the state directory (kept across restarts, as RabbitMQ keeps its users); the
// socket broker asks it who a connection is, and a removed guest's connections and queue go.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { guestBusUser, type BusAccounts } from '../bus-accounts.js';
import { guestGrant, type BusAuthenticator, type BusGrant } from '../../rpc/transports/socket-access.js';
import type { SocketBroker } from '../../rpc/transports/socket-broker.js';
import { socketUrl } from '../../rpc/transports/socket.js';
import { guestTopic } from '../../rpc/topics.js';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

interface Hashed {
  salt: string;
  hash: string;
}

const USER = /^trove-guest-(.+)$/;

export class LocalBusAccounts implements BusAccounts, BusAuthenticator {
  private bus?: SocketBroker;

  /** `file`: where the users are kept; `socketPath`: the bus the guests' transport_url names. */
  constructor(
    private readonly file: string,
    private readonly socketPath: string,
  ) {}

  /** The bus whose connections a removed guest loses. */
  attach(bus: SocketBroker): void {
    this.bus = bus;
  }

  private read(): Record<string, Hashed> {
    return existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, Hashed>) : {};
  }

  private write(users: Record<string, Hashed>): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(users), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  /** The guest's transport_url: its user and password at this bus. */
  transportUrl(instanceId: string, password: string): string {
    return socketUrl(this.socketPath, { user: guestBusUser(instanceId), password });
  }

  /** Whether the instance has a user (an instance made before guests had one has none). */
  hasGuest(instanceId: string): boolean {
    return Object.hasOwn(this.read(), instanceId);
  }

  async ensureGuest(instanceId: string, password: string): Promise<void> {
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt, 32);
    const users = this.read();
    users[instanceId] = { salt: salt.toString('base64'), hash: hash.toString('base64') };
    this.write(users);
    // a new password (a resumed provision): connections made with the old one go
    this.bus?.disconnect(guestBusUser(instanceId));
  }

  async removeGuest(instanceId: string): Promise<void> {
    const users = this.read();
    if (Object.hasOwn(users, instanceId)) {
      delete users[instanceId];
      this.write(users);
    }
    this.bus?.disconnect(guestBusUser(instanceId));
    this.bus?.broker.deleteQueue(guestTopic(instanceId));
  }

  async authenticate(user: string, password: string): Promise<BusGrant | undefined> {
    const id = USER.exec(user)?.[1];
    const entry = id === undefined ? undefined : this.read()[id];
    // the same work for an unknown user as for a wrong password
    const salt = entry ? Buffer.from(entry.salt, 'base64') : randomBytes(16);
    const hash = await scrypt(password, salt, 32);
    if (!entry || !timingSafeEqual(hash, Buffer.from(entry.hash, 'base64'))) return undefined;
    return guestGrant(user, id!);
  }
}
