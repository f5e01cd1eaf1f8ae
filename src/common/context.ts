// Who is asking: the request's identity as the API and the flows see it.

export interface RequestContext {
  requestId: string;
  /** The project (tenant) of the token. */
  projectId: string;
  projectName: string;
  userId: string;
  userName: string;
  roles: string[];
  isAdmin: boolean;
  /** The caller's token, for calls made on their behalf; never logged. */
  authToken: string;
}
