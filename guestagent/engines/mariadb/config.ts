// [mariadb]: where the data volume is and how the server is started.
import { mysqlFamilySection } from '../mysql-common/settings.js';

export const mariadbSection = mysqlFamilySection({
  mysqld: '/usr/sbin/mariadbd',
  installDb: '/usr/bin/mariadb-install-db',
  initStyle: 'install-db',
  upgrade: '/usr/bin/mariadb-upgrade',
});
