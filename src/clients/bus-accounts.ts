// The guests' bus identities in our terms: each instance's agent connects as a bus user of its own
// that may consume only its own topic and publish only to the conductor; created at provision,
// removed (with its topic's queue and its open connections) at delete.

export interface BusAccounts {
  /** Creates the guest's user (or resets its password and permissions: a resumed provision). */
  ensureGuest(instanceId: string, password: string): Promise<void>;
  /** Removes the guest's user, closes its connections and deletes its queues; gone already is fine. */
  removeGuest(instanceId: string): Promise<void>;
}

/** The bus user name of an instance's guest. */
export const guestBusUser = (instanceId: string): string => `trove-guest-${instanceId}`;

/** The guests' bus as the taskmanager provisions it: each guest's account, and the transport_url its config gets. */
export interface GuestBus {
  accounts: BusAccounts;
  transportUrl(instanceId: string, password: string): string;
}
