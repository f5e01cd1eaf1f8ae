// Block storage (Cinder) in our terms.

export interface VolumeType {
  id: string;
  name: string;
  is_public: boolean;
  description: string | null;
}

export interface Volume {
  id: string;
  status: 'creating' | 'available' | 'in-use' | 'error' | 'extending' | 'deleting' | string;
  size: number;
}

export interface BlockStorage {
  listVolumeTypes(): Promise<VolumeType[]>;
}

/** The volume side of block storage, used by the taskmanager's flows. */
export interface VolumeService extends BlockStorage {
  /** Creates a volume named `name`, or returns the one of that name (resume). */
  ensureVolume(name: string, sizeGb: number, type: string | null, availabilityZone: string | null): Promise<Volume>;
  getVolume(id: string): Promise<Volume>;
  /** The volume of that name, if any (a resumed or retried flow finds what it created). */
  findVolume(name: string): Promise<Volume | undefined>;
  extendVolume(id: string, sizeGb: number): Promise<void>;
  /** Deletes; a volume that is already gone is fine. */
  deleteVolume(id: string): Promise<void>;
}
