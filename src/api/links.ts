// Trove's `links`: self under /v1.0/{project}, bookmark without it; scheme from config (Trove: https).
export interface Link {
  href: string;
  rel: string;
}

export interface LinkBase {
  scheme: string;
  host: string;
  projectId: string;
}

export function resourceLinks(base: LinkBase, collection: string, id: string): Link[] {
  return [
    { href: `${base.scheme}://${base.host}/v1.0/${base.projectId}/${collection}/${id}`, rel: 'self' },
    { href: `${base.scheme}://${base.host}/${collection}/${id}`, rel: 'bookmark' },
  ];
}
