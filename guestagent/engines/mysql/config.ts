// [mysql]: Oracle MySQL 8 defaults (mysqld --initialize-insecure). On a machine whose "mysqld" is
// MariaDB's, set init_style = install-db and install_db_bin = /usr/bin/mariadb-install-db.
import { mysqlFamilySection } from '../mysql-common/settings.js';

export const mysqlSection = mysqlFamilySection({ mysqld: '/usr/sbin/mysqld', installDb: '/usr/sbin/mysqld', initStyle: 'initialize' });
