// Compute in our terms: flavors and the servers that run the guest agent. The OpenStack driver is
// clients/openstack/nova.ts; the all-in-one driver (local processes) is clients/local/compute.ts.

export interface Flavor {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral: number;
}

export interface ServerAddress {
  address: string;
  type: 'private' | 'public';
  network?: string;
}

export type ServerStatus = 'BUILD' | 'ACTIVE' | 'ERROR' | 'SHUTOFF' | 'REBOOT' | 'RESIZE' | 'VERIFY_RESIZE' | 'DELETED' | string;

export interface Server {
  id: string;
  status: ServerStatus;
  addresses: ServerAddress[];
  fault?: string | undefined;
}

export interface ServerSpec {
  /** The Trove instance this server runs; also how a resumed flow finds a server it created. */
  instanceId: string;
  name: string;
  flavor: Flavor;
  imageId: string;
  /** The guest agent's configuration (INI), injected into the server. */
  guestConfig: string;
  volumeId?: string | undefined;
  /** The data volume's size, GB (the local driver enforces it on the data directory). */
  volumeSizeGb?: number | undefined;
  availabilityZone?: string | undefined;
  networkIds?: string[];
  securityGroupIds?: string[];
  serverGroupId?: string | undefined;
}

export interface Compute {
  listFlavors(): Promise<Flavor[]>;
  /** Throws ComputeNotFoundError when there is no such flavor. */
  getFlavor(id: string): Promise<Flavor>;
}

/** The availability zones the caller may place a server in (Nova's os-availability-zone, caller's token). */
export interface ZoneLookup {
  availabilityZones(): Promise<string[]>;
}

/** compute_driver = local: the guest agents are processes of this machine (not in VMs). */
export interface GuestAgentProcesses {
  /** Restarts a server's guest agent alone on the installed code, once that code starts (its
   * --version); the engine keeps running. The new code's version; a code that does not start
   * leaves the running agent alone and fails saying why. */
  restartAgent(serverId: string): Promise<string>;
}

/** The server side of compute, used by the taskmanager's flows. */
export interface ServerCompute extends Compute {
  createServer(spec: ServerSpec): Promise<Server>;
  /** Throws ComputeNotFoundError when the server is gone. */
  getServer(id: string): Promise<Server>;
  /** The server created for an instance, if any (found by its metadata): resumes never duplicate. */
  findServerForInstance(instanceId: string): Promise<Server | undefined>;
  /** Deletes; a server that is already gone is fine. */
  deleteServer(id: string): Promise<void>;
  rebootServer(id: string): Promise<void>;
  /** Nova's rebuild: the server's root disk made again from another image; its attached volumes (the data) are kept. */
  rebuildServer(id: string, imageId: string): Promise<void>;
  resizeServer(id: string, flavor: Flavor): Promise<void>;
  confirmResize(id: string): Promise<void>;
  /**
   * The last `lines` lines of the server's console (Nova's os-getConsoleOutput; the local driver's
   * agent.log): the guest agent's own log, read before a failed server is removed.
   */
  consoleOutput(id: string, lines: number): Promise<string>;
}

export class ComputeNotFoundError extends Error {
  constructor(what: string, id: string) {
    super(`${what} ${id} not found in compute`);
    this.name = 'ComputeNotFoundError';
  }
}
