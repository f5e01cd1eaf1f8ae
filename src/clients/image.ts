// Image service (Glance) in our terms.

export interface Image {
  id: string;
  name: string;
  status: string;
  tags: string[];
}

export interface ImageService {
  /** Throws ImageNotFoundError when there is no such image. */
  getImage(id: string): Promise<Image>;
  /** Active images carrying every one of the tags, newest first. */
  findImagesByTags(tags: string[]): Promise<Image[]>;
}

export class ImageNotFoundError extends Error {
  constructor(id: string) {
    super(`Image ${id} cannot be found.`);
    this.name = 'ImageNotFoundError';
  }
}
