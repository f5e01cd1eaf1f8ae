// Idempotent Keystone v3 administration over REST (projects, roles, users, services, endpoints),
// for the lab script and the compatibility tests.
import axios, { type AxiosInstance } from 'axios';

interface Named {
  id: string;
  name: string;
}

export class KeystoneAdmin {
  private constructor(private readonly http: AxiosInstance) {}

  static async login(authUrl: string, user: string, password: string, project: string): Promise<KeystoneAdmin> {
    const base = authUrl.replace(/\/+$/, '');
    const r = await axios.post(`${base}/auth/tokens`, {
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
        scope: { project: { name: project, domain: { name: 'Default' } } },
      },
    });
    return new KeystoneAdmin(axios.create({ baseURL: base, headers: { 'X-Auth-Token': String(r.headers['x-subject-token']) }, timeout: 15_000 }));
  }

  async token(user: string, password: string, project: string): Promise<{ token: string; projectId: string }> {
    const r = await this.http.post('/auth/tokens', {
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
        scope: { project: { name: project, domain: { name: 'Default' } } },
      },
    });
    return { token: String(r.headers['x-subject-token']), projectId: r.data.token.project.id };
  }

  private async passwordWorks(user: string, password: string): Promise<boolean> {
    const r = await this.http.post(
      '/auth/tokens',
      { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } } } },
      { validateStatus: () => true, headers: { 'X-Auth-Token': '' } },
    );
    return r.status === 201;
  }

  async revoke(token: string): Promise<void> {
    await this.http.delete('/auth/tokens', { headers: { 'X-Subject-Token': token } });
  }

  private async findOrCreate(coll: string, key: string, name: string, body: Record<string, unknown>, query = ''): Promise<Named> {
    const list = await this.http.get(`/${coll}?name=${encodeURIComponent(name)}${query}`);
    const found = (list.data[coll] as Named[])[0];
    if (found) return found;
    return (await this.http.post(`/${coll}`, { [key]: { name, ...body } })).data[key];
  }

  project(name: string): Promise<Named> {
    return this.findOrCreate('projects', 'project', name, { domain_id: 'default' }, '&domain_id=default');
  }

  role(name: string): Promise<Named> {
    return this.findOrCreate('roles', 'role', name, {});
  }

  async user(name: string, password: string, projectName: string, roles: string[]): Promise<Named> {
    const project = await this.project(projectName);
    const user = await this.findOrCreate('users', 'user', name, { domain_id: 'default', password, default_project_id: project.id }, '&domain_id=default');
    // only a password that no longer works is reset: a reset revokes every token of the user, and
    // the services already running (Nova's token for Neutron, a running trove-ts) would fail
    if (!(await this.passwordWorks(name, password))) await this.http.patch(`/users/${user.id}`, { user: { password } });
    for (const r of roles) {
      const role = await this.role(r);
      await this.http.put(`/projects/${project.id}/users/${user.id}/roles/${role.id}`);
    }
    return user;
  }

  async region(id: string): Promise<void> {
    const r = await this.http.get(`/regions/${encodeURIComponent(id)}`, { validateStatus: () => true });
    if (r.status === 404) await this.http.post('/regions', { region: { id } });
  }

  /** A service of `type` with public/internal/admin endpoints at `url` in `region` (URL updated if changed). */
  async endpoint(type: string, name: string, url: string, region: string): Promise<void> {
    await this.region(region);
    const services = (await this.http.get(`/services?type=${encodeURIComponent(type)}`)).data.services as Named[];
    const service = services.find((s) => s.name === name) ?? (await this.http.post('/services', { service: { type, name, enabled: true } })).data.service;
    for (const iface of ['public', 'internal', 'admin']) {
      const eps = (await this.http.get(`/endpoints?service_id=${service.id}&interface=${iface}&region_id=${encodeURIComponent(region)}`)).data.endpoints as Array<{ id: string; url: string }>;
      if (eps[0]) {
        if (eps[0].url !== url) await this.http.patch(`/endpoints/${eps[0].id}`, { endpoint: { url } });
      } else {
        await this.http.post('/endpoints', { endpoint: { service_id: service.id, interface: iface, url, region_id: region, enabled: true } });
      }
    }
  }
}
