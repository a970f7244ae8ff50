#!/usr/bin/env bash
# Runs once, when the postgres data volume is first initialised
# (/docker-entrypoint-initdb.d): a login role per service, and that service's
# databases, owned by its role and closed to every other.
set -o errexit -o pipefail -o nounset

# Both, before anything is created: a failure here leaves an initialised data
# volume that is never initialised again (remove the volume and start over).
: "${USERS_DB_PASSWORD:?set USERS_DB_PASSWORD in compose/env/postgres.env}"
: "${AUTH_DB_PASSWORD:?set AUTH_DB_PASSWORD in compose/env/postgres.env}"

create_service() {
    local role=$1 password=$2
    shift 2
    psql --set=ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        --set=role="$role" --set=password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
SQL
    local database
    for database in "$@"; do
        psql --set=ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
            --set=role="$role" --set=database="$database" <<'SQL'
CREATE DATABASE :"database" OWNER :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
    done
}

create_service users_service "$USERS_DB_PASSWORD" users_default users
create_service auth_service "$AUTH_DB_PASSWORD" auth_default auth_credentials
